import json

from util import total


def handler(event):
    # TODO: validate the event schema
    items = event.get("items", [])
    return {"total": total(items), "count": len(items)}


if __name__ == "__main__":
    print(json.dumps(handler({"items": [{"price": 3}, {"price": 4}]})))
