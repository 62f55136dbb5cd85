"""A flow run whose process died (SIGKILL, a lost machine) is marked Crashed on a real Prefect server.

Prefect's flow engine sends a heartbeat event every PREFECT_FLOWS_HEARTBEAT_FREQUENCY seconds (180 by default)
while a flow runs. As Prefect's guide "How to detect and respond to zombie flows" describes, an automation with a
proactive trigger turns silence into a state: after a heartbeat of one of devicepipe's flows (or its Running state,
in case the process died before its first heartbeat reached the server), when neither another heartbeat nor a
final state follows within three heartbeat periods, the run is set to Crashed. `ensure()` creates
that automation on the server once (found again by its name, which carries the window). A temporary server ends
with its run, so it needs none.
"""

from __future__ import annotations

from datetime import timedelta

FLOWS = ("train", "score", "features")  # the flows whose silent runs are crashed (flows/*.py)
FINAL_STATES = ("Completed", "Failed", "Cancelled", "Crashed")
PERIODS = 3  # heartbeat periods of silence before a run counts as dead (Prefect's guide: 30 s beats, 90 s window)


def automation_name(window_seconds: int) -> str:
    return f"devicepipe: crash flow runs silent for {window_seconds} s"


def ensure() -> str | None:
    """Create the automation on the current server unless it is there; returns its name (None: heartbeats off)."""
    from prefect.automations import Automation
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import EventTrigger, Posture
    from prefect.settings import get_current_settings

    frequency = get_current_settings().flows.heartbeat_frequency
    if frequency is None:
        return None
    window = PERIODS * frequency
    name = automation_name(window)
    try:
        Automation.read(name=name)
        return name
    except ValueError:  # not found
        pass
    Automation(
        name=name,
        description="Set by devicepipe: a flow run that stopped sending heartbeats has lost its process.",
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat", "prefect.flow-run.Running"},  # killed before its first beat too
            expect={"prefect.flow-run.heartbeat", *(f"prefect.flow-run.{s}" for s in FINAL_STATES)},
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={"prefect.resource.role": "flow", "prefect.resource.name": list(FLOWS)},
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=window),
        ),
        actions=[
            ChangeFlowRunState(
                state=StateType.CRASHED,
                message=f"No heartbeat for {window} s: the flow run's process has ended without reporting.",
            )
        ],
    ).create()
    return name
