from app import handler


def test_total():
    assert handler({"items": [{"price": 1}]})["total"] == 1
