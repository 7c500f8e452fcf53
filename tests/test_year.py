"""A simulated year through the real command line: tell, wait, ask by cue, ask freely, look ahead, restart,
forget by text. Simulated time (--now, /advance) shows memory as it would be and writes nothing of itself."""

from __future__ import annotations

import json

from test_chat import chat
from test_cli import run


def facts_at(h: list[str], when: str, capsys, everything: bool = False) -> dict[str, str]:
    code, out, _ = run(h + ["--now", when, "facts", "--json"] + (["--all"] if everything else []), capsys)
    assert code == 0
    return {f["text"]: f["status"] for f in json.loads(out)}


def test_a_year_of_memory_through_the_cli(tmp_path, capsys, minilm):
    home = tmp_path / "home"
    h = ["--home", str(home)]
    told = {"My sister Ana lives in Lisbon.": "vital", "My car is a blue Volvo.": "ordinary",
            "I had pasta for lunch today.": "passing", "My dentist appointment is on 20 April.": "dated"}
    for text in told:
        code, out, err = run(h + ["--now", "2026-01-01", "add", text], capsys)
        assert code == 0 and "Remembered fact" in out, out + err
    code, out, _ = run(h + ["--now", "2026-01-01", "facts", "--json"], capsys)
    importance = {f["text"]: f["importance"] for f in json.loads(out)}
    assert importance["My sister Ana lives in Lisbon."] > importance["My car is a blue Volvo."] > importance[
        "I had pasta for lunch today."]

    # A month on, the passing remark has faded out of free recall; the rest is there.
    month = facts_at(h, "2026-02-01", capsys)
    assert "I had pasta for lunch today." not in month and len(month) == 3
    # The day before the appointment (109 days on) it is still kept, though the car has faded by then.
    april = facts_at(h, "2026-04-19", capsys)
    assert "My dentist appointment is on 20 April." in april and "My car is a blue Volvo." not in april
    code, out, _ = run(h + ["--now", "2026-04-19", "explain", "4"], capsys)
    assert "kept at least until 2026-04-21" in out and "status active" in out
    assert set(facts_at(h, "2026-01-01", capsys, everything=True).values()) == {"active"}  # nothing written

    # Half a year on, in the chat: asked freely, the faded car is not listed; asked by a cue, it comes back.
    july = chat(home, ["What do you know about me?", "What car do I drive?", "What do you know about me?"],
                options=("--model", _tiny(tmp_path)), now="2026-07-01")
    answers = [line for line in july.splitlines() if line.startswith("default> ")]
    assert "Volvo" not in answers[0] and "Lisbon" in answers[0]
    assert "I think you told me a while ago that your car is a blue Volvo." in answers[1]
    assert "Volvo" in answers[2]
    assert "haven't told" not in july

    # Restart: the cued recall was a real recall (written); look a year ahead, which writes nothing.
    ahead = chat(home, ["/advance 365d", "/facts all", "/quit"], options=("--model", _tiny(tmp_path)), now="2026-07-01")
    assert "simulated: nothing is written" in ahead
    now = facts_at(h, "2026-07-01", capsys, everything=True)
    assert now["My car is a blue Volvo."] == "active" and now["My sister Ana lives in Lisbon."] == "active"
    assert facts_at(h, "2026-01-01", capsys, everything=True) == {t: "active" for t in told}  # as stored

    # Forget by text: shown, then done (--yes for scripts); restorable.
    code, out, err = run(h + ["--now", "2026-07-01", "forget", "my car", "--yes"], capsys)
    assert code == 0 and "Forgot 1 fact(s): 2" in out, out + err
    assert facts_at(h, "2026-07-01", capsys, everything=True)["My car is a blue Volvo."] == "forgotten"


def _tiny(tmp_path) -> str:
    from test_assistant import tiny_checkpoint

    path = tmp_path / "tiny-chat.pt"
    return str(path if path.exists() else tiny_checkpoint(path))
