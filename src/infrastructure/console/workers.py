"""``cml-fleet workers list|show|pause|resume|start|stop``: a worker is named by its id
or its name (exact); ``--json`` prints what the API answers."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any, TextIO
from uuid import UUID

from infrastructure.console.api import REFUSED, Api, Failed

PAGE = 500
COLUMNS = (("NAME", "name"), ("STATUS", "status"), ("REGION", "region"),
           ("TYPE", "instance_type"), ("INSTANCE", "instance_id"), ("ID", "id"))  # fmt: skip
ACTIONS = ("pause", "resume", "start", "stop")


def pages(api: Api, params: dict[str, Any], limit: int | None) -> Iterator[dict[str, Any]]:
    """Every worker matching ``params`` (at most ``limit``), page after page."""
    cursor, given = None, 0
    while True:
        paging = {"limit": PAGE, **({"cursor": cursor} if cursor else {})}
        page = api.call("GET", "/api/workers", params={**params, **paging})
        for item in page["items"]:
            if limit is not None and given >= limit:
                return
            given += 1
            yield item
        cursor = page["next_cursor"]
        if not cursor:
            return


def find(api: Api, ref: str) -> dict[str, Any]:
    """The worker with id ``ref``, or the one named ``ref``."""
    try:
        return dict(api.call("GET", f"/api/workers/{UUID(ref)}"))
    except ValueError:
        pass
    named = [w for w in pages(api, {"q": ref}, None) if w["name"] == ref]
    if not named:
        raise Failed(REFUSED, f"no worker named {ref!r} (cml-fleet workers list shows them)")
    if len(named) > 1:
        ids = ", ".join(w["id"] for w in named)
        raise Failed(REFUSED, f"{len(named)} workers are named {ref!r}: give an id ({ids})")
    return named[0]


def list_workers(api: Api, args: Any, out: TextIO = sys.stdout) -> int:
    params: dict[str, Any] = {}
    if args.status:
        params["status"] = ",".join(args.status)
    if args.region:
        params["region"] = args.region
    if args.search:
        params["q"] = args.search
    workers = list(pages(api, params, args.limit))
    if args.json:
        json.dump(workers, out, indent=2)
        out.write("\n")
        return 0
    rows = [[str(w.get(key) or "-") for _, key in COLUMNS] for w in workers]
    widths = [max([len(head), *(len(r[i]) for r in rows)]) for i, (head, _) in enumerate(COLUMNS)]
    for cells in [[head for head, _ in COLUMNS], *rows]:
        out.write("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip() + "\n")
    return 0


def show(api: Api, args: Any, out: TextIO = sys.stdout) -> int:
    worker = find(api, args.worker)
    if args.json:
        json.dump(worker, out, indent=2)
        out.write("\n")
        return 0
    width = max(len(k) for k in worker)
    for key, value in worker.items():
        if value is None or value == [] or value == {}:
            continue
        text = json.dumps(value) if isinstance(value, dict | list) else str(value)
        out.write(f"{key.ljust(width)}  {text}\n")
    return 0


def act(api: Api, args: Any, out: TextIO = sys.stdout) -> int:
    """Send the command; the answer says it is accepted (the engine carries it out)."""
    worker = find(api, args.worker)
    answer = api.call("POST", f"/api/workers/{worker['id']}/{args.action}")
    if args.json:
        json.dump(answer, out, indent=2)
        out.write("\n")
    else:
        out.write(f"{args.action} {worker['name']}: accepted (position {answer['position']})\n")
    return 0
