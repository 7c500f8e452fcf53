"""The LoCoMo retrieval evaluation on a tiny conversation in LoCoMo's format (written here), and the real files
when they are there."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from conftest import SHARED_DATA
from fakes import HashEmbedder
from lab.locomo_eval import LocomoConfig, evaluate, load_conversation, markdown, recall, report, session_time


def tiny_conversation(folder):
    data = {
        "speaker_a": "Ana", "speaker_b": "Ben",
        "session_1_date_time": "1:56 pm on 8 May, 2023",
        "session_1": [{"speaker": "Ana", "dia_id": "D1:1", "text": "I adopted a greyhound called Pixel."},
                      {"speaker": "Ben", "dia_id": "D1:2", "text": "Lovely! I started pottery classes."}],
        "session_2_date_time": "9:05 am on 3 July, 2023",
        "session_2": [{"speaker": "Ana", "dia_id": "D2:1", "text": "Pixel won a race in Leeds."},
                      {"speaker": "Ben", "dia_id": "D2:2", "text": "My pottery teacher moved to Oslo."},
                      {"speaker": "Ana", "dia_id": "D2:3", "text": ""}],
        "qa": [{"question": "What is the name of Ana's greyhound?", "evidence": ["D1:1"], "category": 4},
               {"question": "Where did Ben's pottery teacher move?", "evidence": ["D2:2"], "category": 4},
               {"question": "Where did Pixel win a race?", "evidence": ["D2:1"], "category": 2},
               {"question": "What did Ana dream about?", "category": 5}],
    }
    (folder / "conv-1.json").write_text(json.dumps(data))


def test_session_dates_are_read_as_utc_times():
    assert session_time("1:56 pm on 8 May, 2023") == datetime(2023, 5, 8, 13, 56, tzinfo=timezone.utc)
    assert session_time("12:06 am on 11 November, 2022") == datetime(2022, 11, 11, 0, 6, tzinfo=timezone.utc)
    with pytest.raises(ValueError):
        session_time("yesterday")


def test_every_turn_is_a_memory_and_each_question_with_evidence_is_scored(tmp_path):
    tiny_conversation(tmp_path)
    conv = load_conversation(tmp_path / "conv-1.json")
    assert [len(turns) for _, turns in conv.sessions] == [2, 2]  # the empty turn is left out
    assert conv.sessions[0][1][0] == ("D1:1", "Ana: I adopted a greyhound called Pixel.")
    [result] = evaluate(tmp_path, HashEmbedder(), LocomoConfig())
    assert result.turns == 4 and result.questions == 3 and result.skipped == 1
    for method in ("hybrid", "lexical", "dense", "cosine"):
        assert recall([result], method, 10)[0] == 1.0  # four memories: every evidence turn is in the top 10
    assert recall([result], "lexical", 5, category=2) == (1.0, 1)
    figures = report([result], LocomoConfig(), "memchat eval locomo --data X")
    assert figures["held_out_split"]["questions"] == 3 and figures["tuning_split"] is None
    assert "| memchat search, hybrid (the default) | 100.0% | 100.0% |" in markdown(figures)


@pytest.mark.skipif(not (SHARED_DATA / "locomo" / "conv-30.json").exists(),
                    reason="LoCoMo is not in ../shared/data/locomo (the data folder beside the checkout)")
def test_the_real_files_load_with_their_dates_and_evidence():
    conv = load_conversation(SHARED_DATA / "locomo" / "conv-30.json")
    assert len(conv.sessions) == 19 and conv.sessions[0][0] < conv.sessions[-1][0]
    turns = {dia for _, ts in conv.sessions for dia, _ in ts}
    assert sum(bool(q.evidence & turns) for q in conv.questions) >= 100
