"""Runs python-scim's scim2-tester against a running server and prints every check, then the counts by status.

Usage: python run.py BASE_URL TOKEN [ResourceType ...]
Exit status 0 when it ran (whatever the checks found): which failures are deliberate is for
docs/idcs-compatibility.md ("Strict SCIM clients") to say, not for this script to hide.
"""

import collections
import os
import sys

from httpx import Client
from scim2_client.engines.httpx import SyncSCIMClient
from scim2_tester.checker import check_server


def log_failure(response) -> None:
    if response.status_code < 400:
        return
    response.read()
    request = response.request
    print(f"{request.method} {request.url} {request.content[:600]!r}\n  -> {response.status_code} {response.text[:600]}", file=sys.stderr)


def main() -> int:
    base_url, token, *resource_types = sys.argv[1:]
    # The checks read responses exactly as the server sends them: nothing rewrites them. With SCIM2_TESTER_LOG set,
    # every answer of 400 or more is also printed to stderr with its request, since scim2-client hides the detail of
    # an error it does not parse as one.
    hooks = {"response": [log_failure]} if os.environ.get("SCIM2_TESTER_LOG") else {}
    client = SyncSCIMClient(Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30, event_hooks=hooks))
    client.discover()
    results = check_server(client, resource_types=resource_types or None)
    counts = collections.Counter()
    for r in results:
        counts[r.status.name] += 1
        where = f" [{r.resource_type}]" if r.resource_type else ""
        print(f"{r.status.name} {r.title}{where}")
        if r.reason and r.status.name not in ("SUCCESS", "SKIPPED"):
            print(f"    {r.reason}"[:2000])
    print("\ntotal %d: %s" % (len(results), ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
