def total(items):
    return sum(i["price"] for i in items)


def fmt_money(cents):
    # TODO: locale-aware formatting
    return "%d.%02d" % (cents // 100, cents % 100)
