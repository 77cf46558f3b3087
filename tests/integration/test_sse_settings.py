"""Schedules, budgets and webhook subscriptions change live on every open dashboard
(issue 18): ``schedule.changed``, ``budget.changed`` and ``webhook.changed`` frames, each
carrying the view GET gives, to the streams that may see it — webhooks to admins only,
and, under ``VISIBILITY=team``, a team's budget to that team (a fleet budget to admins).
A real uvicorn on 127.0.0.1; each frame checked against its committed contract."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from infrastructure.http.access.auth import Role
from tests.integration.test_sse_stream import (
    Dashboard,
    Frame,
    Operator,
    new_system,
    serving,
    validate,
)

OFFICE = {
    "timezone": "Europe/Amsterdam",
    "periods": [{"days": "mon-fri", "start": "08:00", "end": "18:00"}],
}
HOOK = {"id": "ops", "url": "http://127.0.0.1:9/hook?key=s3cret", "secret": "x" * 24,
        "events": ["budget"]}  # fmt: skip


async def opened(dashboard: Dashboard) -> None:
    hello = await dashboard.next()
    assert hello.event == "hello" and hello.data["workers"] == 0


async def settings_frame(dashboard: Dashboard) -> Frame:
    """The next frame (there are no workers: only settings changes come)."""
    frame = await dashboard.next()
    validate(frame)
    assert frame.id is None  # not in the log: nothing to resume from
    return frame


async def test_every_open_dashboard_hears_a_settings_change_with_what_get_answers(
    tmp_path: Path,
) -> None:
    system = new_system(tmp_path)
    async with serving(system) as server:
        admin = Operator(server)
        async with Dashboard(server) as viewer, Dashboard(server, token=server.admin) as admins:
            await opened(viewer)
            await opened(admins)

            await admin.call("PUT", "/api/schedules/office", OFFICE)
            shown = await admin.call("GET", "/api/schedules/office")
            for stream in (viewer, admins):
                frame = await settings_frame(stream)
                assert frame.event == "schedule.changed" and frame.envelope["subject"] == "office"
                assert frame.data | {"at": None} == {
                    "name": "office", "change": "saved", "by": "ada", "at": None,
                    "schedule": shown,
                }  # fmt: skip

            answer = await admin._client.post("/api/webhooks", json=HOOK)
            assert answer.status_code == 201, answer.text
            created = answer.json()
            frame = await settings_frame(admins)
            assert (frame.event, frame.data["change"], frame.data["webhook"]) == (
                "webhook.changed", "created", created,
            )  # fmt: skip
            assert "s3cret" not in str(frame.envelope) and "x" * 24 not in str(frame.envelope)

            await admin.call("PUT", "/api/budgets/month", {"amount": 500.0, "scope": "fleet"})
            shown = await admin.call("GET", "/api/budgets/month")
            # The viewer never heard of the webhook: its next frame is the budget.
            for stream in (viewer, admins):
                frame = await settings_frame(stream)
                assert (frame.event, frame.data["change"]) == ("budget.changed", "saved")
                assert frame.data["budget"] == shown

            assert (await admin._client.delete("/api/webhooks/ops")).status_code == 204
            assert (await settings_frame(admins)).data["change"] == "removed"
            assert (await admin._client.delete("/api/schedules/office")).status_code == 204
            for stream in (viewer, admins):
                frame = await settings_frame(stream)
                assert frame.event == "schedule.changed"
                assert (frame.data["change"], frame.data["schedule"]) == ("removed", None)
        await admin.close()


async def test_a_stream_limited_to_workers_or_types_hears_only_what_it_asked_for(
    tmp_path: Path,
) -> None:
    system = new_system(tmp_path)
    async with serving(system) as server:
        admin = Operator(server)
        worker, _ = await admin.import_worker("one")
        one_worker = Dashboard(server, params={"worker": worker}, token=server.admin)
        budgets_only = Dashboard(server, params={"type": "budget."}, token=server.admin)
        async with one_worker as mine, budgets_only as money:
            assert (await mine.next()).event == "hello" and (await mine.next()).data["id"]
            assert (await money.next()).data["workers"] == 0
            await admin.call("PUT", "/api/schedules/office", OFFICE)
            await admin.call("PUT", "/api/budgets/month", {"amount": 500.0})
            frame = await money.next()
            assert frame.event == "budget.changed"  # not the schedule's
            # The worker's stream: no settings frame, its worker's change arrives next.
            await admin.tag(worker, "after")
            assert (await mine.next()).event == "worker.tags.changed"
        await admin.close()


async def test_under_team_visibility_a_team_hears_its_own_budgets_alone(tmp_path: Path) -> None:
    system = new_system(tmp_path, visibility="team")
    red_viewer = system.auth.create_token(Role.VIEWER, "rita", teams=["red"])
    budgets: list[tuple[str, dict[str, Any]]] = [
        ("blue", {"amount": 100.0, "scope": "team:blue"}),
        ("all", {"amount": 900.0, "scope": "fleet"}),
        ("tagged", {"amount": 50.0, "scope": "tag:course=ccna"}),
        ("red", {"amount": 100.0, "scope": "team:red"}),
    ]
    async with serving(system) as server:
        admin = Operator(server)
        async with (
            Dashboard(server, token=red_viewer) as red,
            Dashboard(server, token=server.admin) as admins,
        ):
            await opened(red)
            await opened(admins)
            for name, body in budgets:
                await admin.call("PUT", f"/api/budgets/{name}", body)
            heard = [(await settings_frame(admins)).data["name"] for _ in budgets]
            assert heard == [name for name, _ in budgets]
            frame = await settings_frame(red)  # blue's, the fleet's and the tag's never come
            assert frame.data["name"] == "red"
            await admin.call("POST", "/api/budgets/red/lift")
            frame = await settings_frame(red)
            assert (frame.data["change"], frame.data["budget"]["lifted_by"]) == ("lifted", "ada")
        await admin.close()
