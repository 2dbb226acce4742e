#!/usr/bin/env python3
"""promtext.py — read a Prometheus text exposition (format 0.0.4) for the e2e tests.

  promtext.py sum FILE NAME [label=value ...]   sum of the samples of NAME whose labels
                                                include every label=value (0 if none)
  promtext.py names FILE                        every sample name, one per line

A small strict parser: a line that is neither a comment nor a well-formed sample makes it
exit 2, so a malformed /metrics cannot pass silently.
"""
import math
import re
import sys

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LNAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def _labels(s, i, line):
    """Parse '{a="x",b="y"}' starting at s[i] == '{'; return (dict, index after '}')."""
    out = {}
    i += 1
    while True:
        if s[i] == "}":
            return out, i + 1
        m = _LNAME.match(s, i)
        if not m:
            raise ValueError("bad label name in: " + line)
        name = m.group(0)
        i = m.end()
        if s[i : i + 2] != '="':
            raise ValueError("expected =\" in: " + line)
        i += 2
        val = []
        while s[i] != '"':
            if s[i] == "\\":
                nxt = s[i + 1]
                val.append({"n": "\n", "\\": "\\", '"': '"'}.get(nxt))
                if val[-1] is None:
                    raise ValueError("bad escape in: " + line)
                i += 2
            else:
                val.append(s[i])
                i += 1
        out[name] = "".join(val)
        i += 1
        if s[i] == ",":
            i += 1
        elif s[i] != "}":
            raise ValueError("expected , or } in: " + line)


def parse(text):
    """Yield (name, labels, value) for every sample line."""
    for raw in text.split("\n"):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _NAME.match(line)
        if not m:
            raise ValueError("bad metric name in: " + raw)
        name = m.group(0)
        i = m.end()
        labels = {}
        if i < len(line) and line[i] == "{":
            labels, i = _labels(line, i, raw)
        rest = line[i:].split()
        if len(rest) not in (1, 2):
            raise ValueError("bad sample in: " + raw)
        v = rest[0]
        value = {"+Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan}.get(v)
        if value is None:
            value = float(v)
        yield name, labels, value


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, path = argv[1], argv[2]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        samples = list(parse(text))
    except (ValueError, IndexError) as e:
        print("promtext: " + str(e), file=sys.stderr)
        return 2
    if cmd == "names":
        for name in sorted({s[0] for s in samples}):
            print(name)
        return 0
    if cmd != "sum" or len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    want_name = argv[3]
    want = dict(a.split("=", 1) for a in argv[4:])
    total = 0.0
    for name, labels, value in samples:
        if name == want_name and all(labels.get(k) == v for k, v in want.items()):
            total += value
    print(int(total) if total == int(total) else repr(total))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
