"""Reads a HAR file with haralyzer (PyPI), a HAR library this project did not write, and prints
each entry's method, URL, status and response text as JSON (tests/interop.rs compares them)."""

import json
import sys

from haralyzer import HarParser


def main(path):
    with open(path, "rb") as handle:
        parser = HarParser(json.loads(handle.read()))
    rows = []
    for page in parser.pages:
        for entry in page.entries:
            rows.append(
                [
                    entry.request.method,
                    entry.request.url,
                    entry.response.status,
                    entry.response.text or "",
                ]
            )
    json.dump(rows, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
