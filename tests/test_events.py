"""The event bus: numbering, replay after a reconnect, and telling a client when replay cannot be whole."""

from __future__ import annotations

from jiefang.events import EventBus


def test_replay_returns_kept_events_after_a_number_and_skips_snapshots():
    bus = EventBus(keep=10)
    first = bus.publish("duty.check_in", member_id=1)
    bus.publish("positions", keep=False, moved=[])
    third = bus.publish("duty.check_out", member_id=1)
    events, complete = bus.replay(first["seq"])
    assert [e["seq"] for e in events] == [third["seq"]] and complete
    events, complete = bus.replay(bus.last_seq)  # the client saw the snapshot last: nothing missed
    assert events == [] and complete


def test_replay_past_the_window_or_from_the_future_asks_for_a_reload():
    bus = EventBus(keep=3)
    for i in range(5):
        bus.publish("tick", i=i)
    assert bus.replay(1) == (bus.replay(1)[0], False)  # events 2 and 3 are gone
    assert bus.replay(2)[1] is True  # event 2 was the last pushed out; 3, 4, 5 are all still here
    assert bus.replay(99)[1] is False  # a number this bus never gave: the server restarted


def test_a_failing_subscriber_does_not_stop_the_others():
    bus = EventBus()
    got = []

    def broken(_event):
        raise RuntimeError("boom")

    bus.subscribe(broken)
    bus.subscribe(got.append)
    bus.publish("x")
    assert [e["type"] for e in got] == ["x"]
