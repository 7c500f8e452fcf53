"""The recall evaluation's scoring, checked with bots whose behaviour is known, and one real run."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from assistant.assistant import Assistant
from lab.personal_data import conversations
from lab.recall_eval import mentions, run_recall_eval

START = datetime(2026, 11, 24, tzinfo=timezone.utc)
CONVERSATIONS = conversations("eval", 12, seed=3)


class ScriptedBot:
    """Says the conversation's scripted replies: what a perfect assistant would say."""

    def __init__(self, conversation, say=None):
        self.replies = iter(t.reply for t in conversation.turns)
        self.say = say

    def reply(self, text, now=None):
        return SimpleNamespace(text=self.say if self.say is not None else next(self.replies))

    def end_session(self, now=None):
        return []


def test_mentions_are_whole_words_and_ignore_case():
    assert mentions("Your sister Ana lives in Lisbon.", "lisbon")
    assert not mentions("I like bananas.", "Ana")
    assert mentions("It's 555-0134.", "555-0134")


def test_the_scripted_replies_meet_every_target():
    bots = iter(ScriptedBot(c) for c in CONVERSATIONS)
    report = run_recall_eval(CONVERSATIONS, lambda user: next(bots), START)
    assert report.turns["ask"] > 0 and report.turns["ask_unknown"] > 0
    assert report.recall == 100.0 and report.forgotten_leaks == 0 and report.unknown_leaks == 0
    assert all(report.meets_targets().values()), report.misses[:3]


def test_a_bot_that_names_every_value_fails_the_leak_targets():
    def blurt(user):
        c = CONVERSATIONS[int(user.split("-")[1])]
        return ScriptedBot(c, say=" ".join(v for f in c.facts for v in f.values.values()))

    report = run_recall_eval(CONVERSATIONS, blurt, START)
    assert report.recall == 100.0  # it does name the answer...
    assert report.unknown_leak_rate > 50 and report.forgotten_leaks > 0  # ...and everything else
    assert not report.meets_targets()["unknown_leaks"]


class MixUpBot(ScriptedBot):
    """Scripted, except that a question about a forgotten fact is answered with another fact's value."""

    def __init__(self, conversation):
        super().__init__(conversation)
        self.turns = iter(conversation.turns)

    def reply(self, text, now=None):
        turn, scripted = next(self.turns), next(self.replies)
        others = [f for f in turn.expect.forbidden if f not in turn.expect.gone]
        if turn.expect.kind == "ask_forgotten" and others:
            return SimpleNamespace(text=f"It is {others[0]}.")
        return SimpleNamespace(text=scripted)


def test_forgotten_values_and_other_facts_entities_are_counted_apart():
    convs = [c for c in CONVERSATIONS if any(t.expect.kind == "ask_forgotten" and t.expect.gone for t in c.turns)]
    assert convs and all(set(t.expect.gone) <= set(t.expect.forbidden) for c in convs for t in c.turns)
    bots = iter(MixUpBot(c) for c in convs)
    report = run_recall_eval(convs, lambda user: next(bots), START)
    assert report.forgotten_leaks == 0 and report.forgotten_other_leaks > 0


def test_a_real_assistant_plays_the_conversations(store, tmp_path):
    from test_assistant import tiny_checkpoint

    path = tiny_checkpoint(tmp_path / "chat.pt")
    report = run_recall_eval(CONVERSATIONS[:2], lambda user: Assistant.load(store, user=user, checkpoint=path), START)
    assert sum(report.turns.values()) == sum(len(c.turns) for c in CONVERSATIONS[:2])
    assert len(report.latencies_ms) == sum(report.turns.values()) and report.latency_p50_ms > 0
    assert set(store.users()) == {"eval-0", "eval-1"}  # each conversation is its own user


@pytest.mark.parametrize("dev", [False, True])
def test_memchat_eval_recall_writes_its_tables(tmp_path, dev):
    import json
    import subprocess
    import sys

    from conftest import ROOT, subprocess_env
    from test_assistant import tiny_checkpoint

    model = tiny_checkpoint(tmp_path / "chat.pt")
    result = subprocess.run([sys.executable, str(ROOT / "cli.py"), "eval", "recall", "--conversations", "1",
                             "--model", str(model), "--results", str(tmp_path / "results"), *(["--dev"] * dev)],
                            capture_output=True, text=True, env=subprocess_env(COLUMNS="200"), timeout=300)
    assert result.returncode == 0, result.stderr
    stem = "recall-dev" if dev else "recall"
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == [f"{stem}.json", f"{stem}.md"]
    saved = json.loads((tmp_path / "results" / f"{stem}.json").read_text())
    assert saved["command"].startswith("memchat eval recall --conversations 1") and saved["command"].endswith(
        " --dev" if dev else str(model))
    assert set(saved["meets"]) == {"recall", "forgotten_leaks", "unknown_leaks", "updates"}
    table = (tmp_path / "results" / f"{stem}.md").read_text()
    assert "| fact recall" in table and ("(dev)" in table) is dev
