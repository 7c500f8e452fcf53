"""memchat's own personal-fact conversations: disjoint splits, copyable answers, a faithful simulated memory."""

from __future__ import annotations

import re
from functools import cache

import pytest

from assistant.errors import ConfigError
from assistant.lines import Line
from lab.personal_data import (
    DONT_KNOW,
    Conversation,
    conversations,
    list_reply,
    small_talk_pairs,
    training_examples,
)
from lab.relations import SPLITS, all_relations, catalogue, in_split, phrasings_part

KINDS = {"tell", "ask", "ask_unknown", "update", "ask_updated", "forget", "ask_forgotten", "small_talk", "list"}
_SLOT = re.compile(r"\{\w+\}")


@cache
def sample(split: str, count: int = 120) -> tuple[Conversation, ...]:
    return tuple(conversations(split, count, seed=7))


def normal(text: str) -> str:
    return " ".join(re.findall(r"[\w']+", text.lower()))


def pattern(template: str) -> str:
    """A template as a regex over normalised, delexicalised text: a slot is the word "slot" ({a_slot}: "a slot"),
    a wrapped statement or topic ({s}, {S}, {topic}) any words."""
    text = re.sub(r"\{(s|S|topic)\}", "anything", template)
    text = _SLOT.sub("slot", re.sub(r"\{a_\w+\}", "a slot", text))
    return re.escape(normal(text)).replace("anything", ".+").replace(re.escape("a slot"), "(?:a|an) slot")


def delexicalised(text: str, conversation: Conversation) -> str:
    """`text` normalised, with every value the conversation states replaced by the word "slot"."""
    values = sorted({normal(v) for f in conversation.facts for v in f.values.values()}, key=len, reverse=True)
    return re.sub(r"\b(?:" + "|".join(map(re.escape, values)) + r")\b", "slot", normal(text))


def templates(split: str) -> list[str]:
    """Every user-side phrasing of a split: wrappers, statements, updates and questions."""
    book = catalogue(split)
    templates = [*book.remember, *book.update, *book.forget_fact, *book.forget_topic, *book.list_questions]
    for r in book.relations:
        templates += [*r.statements, *r.updates, *(q for qs in r.questions.values() for q in qs)]
    return templates


def texts(conversation: Conversation) -> list[str]:
    out = [fact.text for fact in conversation.facts]
    for turn in conversation.turns:
        out += [turn.user, turn.reply, *turn.expect.answers, *turn.expect.forbidden]
    return out


def test_the_catalogue_is_large_and_every_relation_can_be_told_and_asked_in_both_splits():
    assert len(all_relations()) >= 30
    for split in SPLITS:
        book = catalogue(split)
        for r in book.relations:
            assert r.statements and all(r.questions.values()), (split, r.key)
    names = catalogue("train").values["names"] + catalogue("eval").values["names"]
    places = catalogue("train").values["places"] + catalogue("eval").values["places"]
    assert len(set(names)) >= 400 and len(set(places)) >= 300


def test_train_and_eval_share_no_value_and_no_phrasing():
    train, test = catalogue("train"), catalogue("eval")
    train_values = {v.lower() for vs in train.values.values() for v in vs}
    eval_values = {v.lower() for vs in test.values.values() for v in vs}
    assert not train_values & eval_values
    assert not {normal(t) for t in templates("train")} & {normal(t) for t in templates("eval")}


def test_the_position_rule_gives_every_fourth_item_to_evaluation():
    items = [str(i) for i in range(9)]
    assert in_split(items, "eval") == ("3", "7")
    assert in_split(["a", "b"], "eval") == ("b",) and in_split(["a", "b"], "train") == ("a",)
    with pytest.raises(ConfigError):
        in_split(items, "test")


def test_conversations_are_the_same_for_the_same_seed_and_differ_for_another():
    assert conversations("train", 5, seed=3) == conversations("train", 5, seed=3)
    assert conversations("train", 5, seed=3) != conversations("train", 5, seed=4)
    assert conversations("train", 3, seed=3) == conversations("train", 5, seed=3)[:3]
    first = training_examples(conversations("train", 5, seed=3), seed=1)
    assert first == training_examples(conversations("train", 5, seed=3), seed=1)
    with pytest.raises(ConfigError):
        conversations("dev", 1, seed=0)


def test_no_evaluation_value_occurs_in_training_conversations():
    values = sorted({v for vs in catalogue("eval").values.values() for v in vs}, key=len, reverse=True)
    unseen = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, values)) + r")(?!\w)", re.IGNORECASE)
    for conversation in sample("train"):
        for text in texts(conversation):
            assert not unseen.search(text), (text, unseen.search(text)[0])


def test_no_evaluation_phrasing_occurs_in_training_conversations():
    patterns = re.compile("|".join(f"(?:.* )?{pattern(t)}" for t in templates("eval")))
    for conversation in sample("train"):
        for turn in conversation.turns:
            if turn.expect.kind != "small_talk":
                assert not patterns.fullmatch(delexicalised(turn.user, conversation)), turn.user


@pytest.mark.parametrize("split", SPLITS)
def test_every_stated_fact_uses_a_statement_and_values_of_its_own_split(split):
    book = catalogue(split)
    by_key = {r.key: [pattern(t) for t in (*r.statements, *r.updates)] for r in book.relations}
    values = {v.lower() for vs in book.values.values() for v in vs}
    for conversation in sample(split):
        for fact in conversation.facts:
            text = delexicalised(fact.text, conversation)
            assert any(re.fullmatch(p, text) for p in by_key[fact.relation]), fact.text
            assert {v.lower() for v in fact.values.values()} <= values, fact


def test_check_conversations_use_only_the_phrasings_held_out_of_fitting():
    whole = catalogue("train")
    fit, check = (phrasings_part(whole, part) for part in ("fit", "check"))
    for r in whole.relations:
        f, c = fit.relation(r.key), check.relation(r.key)
        if len(c.statements) < len(r.statements):  # a list too short to split is kept whole in both
            assert not set(c.statements) & set(f.statements) and set(c.statements) | set(f.statements) == set(r.statements)
    for conversation in conversations("train", 40, seed=7, phrasings="check"):
        for fact in conversation.facts:
            c = check.relation(fact.relation)
            text = delexicalised(fact.text, conversation)
            assert any(re.fullmatch(pattern(t), text) for t in (*c.statements, *c.updates)), fact.text
    with pytest.raises(ConfigError):
        phrasings_part(whole, "most")


@pytest.mark.parametrize("split", SPLITS)
def test_conversations_have_the_planned_shape(split):
    seen = set()
    for conversation in sample(split):
        kinds = [turn.expect.kind for turn in conversation.turns]
        seen |= set(kinds)
        assert 3 <= kinds.count("tell") <= 8
        assert kinds.count("update") == kinds.count("ask_updated")
        assert kinds.count("forget") == kinds.count("ask_forgotten")
        assert "ask_unknown" in kinds
    assert seen == KINDS
    tells = [turn for c in sample(split) for turn in c.turns if turn.expect.kind == "tell"]
    assert any(turn.user != turn.expect.fact for turn in tells)  # "Remember that ..."
    assert any(turn.user == turn.expect.fact for turn in tells)
    assert any(turn.user == turn.user.lower() for turn in tells)


@pytest.mark.parametrize("split", SPLITS)
def test_the_scripted_reply_meets_its_own_expectation(split):
    for conversation in sample(split):
        for turn in conversation.turns:
            reply, e = turn.reply.lower(), turn.expect
            assert not e.answers or any(a.lower() in reply for a in e.answers), (turn.reply, e)
            assert not any(f.lower() in reply for f in e.forbidden), (turn.reply, e)


def test_every_answer_can_be_copied_from_the_fact_asked_about():
    for conversation in sample("eval"):
        for turn in conversation.turns:
            if turn.expect.kind in ("ask", "ask_updated"):
                assert turn.expect.fact is not None
                assert any(a.lower() in turn.expect.fact.lower() for a in turn.expect.answers), turn


def test_questions_about_unknown_or_forgotten_facts_forbid_every_stored_value():
    for conversation in sample("eval"):
        stored: dict[str, str] = {}
        by_text = {fact.text: fact for fact in conversation.facts}
        for turn in conversation.turns:
            e = turn.expect
            if e.kind in ("ask_unknown", "ask_forgotten"):
                assert set(DONT_KNOW) == set(e.answers)
                for text in stored.values():
                    assert all(v in e.forbidden for v in by_text[text].values.values())
            if e.kind in ("tell", "update"):
                stored[e.relation] = e.fact
            elif e.kind == "forget":
                del stored[e.relation]


def test_the_simulated_memory_shows_what_retrieval_would_and_nothing_removed():
    convs = sample("train", 60)
    examples = training_examples(convs, window=6, memory_k=5, seed=0)
    assert len(examples) == sum(len(c.turns) for c in convs)
    it = iter(examples)
    for d, conversation in enumerate(convs):
        removed: set[str] = set()
        earlier: list[Line] = []  # every line of the conversation so far: history, then the window
        for turn in conversation.turns:
            example = next(it)
            window = [line for line in example.context[:-1] if line.speaker != "kb"]
            assert [*example.history, *window] == earlier and (len(window) == 6 or not example.history)
            earlier += [Line("user", turn.user), Line("bot", example.reply)]
            assert example.dialog == d and example.context[-1].text == turn.user
            kb = [line.text for line in example.context if line.speaker == "kb"]
            dialogue = [line for line in example.context[len(kb):-1]]
            assert len(kb) <= 5 and len(dialogue) <= 6 and all(line.speaker != "kb" for line in dialogue)
            assert not removed & set(kb), (turn.user, removed & set(kb))
            e = turn.expect
            relation_facts = {f.text for f in conversation.facts if f.relation == e.relation}
            if e.kind in ("ask", "ask_updated"):
                assert e.fact in kb and example.reply == turn.reply
            elif e.kind in ("ask_unknown", "ask_forgotten"):
                assert not relation_facts & set(kb)
            if e.kind == "update":
                removed |= relation_facts - {e.fact}
            elif e.kind == "forget":
                removed |= relation_facts


def test_a_list_reply_names_exactly_the_facts_recalled():
    convs = [c for c in sample("train") if any(t.expect.kind == "list" for t in c.turns)]
    examples = training_examples(convs, memory_k=2, seed=0)
    turns = [(c, turn) for c in convs for turn in c.turns]
    lists = [(c, e) for (c, turn), e in zip(turns, examples) if turn.expect.kind == "list"]
    assert lists
    for conversation, example in lists:
        answers = {fact.text: fact.answer for fact in conversation.facts}
        kb = [line.text for line in example.context if line.speaker == "kb"]
        assert 1 <= len(kb) <= 2 and example.reply == list_reply([answers[text] for text in kb])


def test_window_zero_keeps_only_the_user_line():
    examples = training_examples(sample("train", 5), window=0, memory_k=0, seed=0)
    assert all(len(e.context) == 1 and e.context[0].speaker == "user" for e in examples)


def test_small_talk_loads_from_the_corpus_and_is_not_about_the_user():
    pairs = small_talk_pairs()
    assert len(pairs) > 300 and all(isinstance(s, str) and isinstance(r, str) and s and r for s, r in pairs)
    assert not any(re.search(r"\bmy\b", s, re.IGNORECASE) for s, _ in pairs)
    train, test = small_talk_pairs("train"), small_talk_pairs("eval")
    assert train and test and not {s for s, _ in train} & {s for s, _ in test}
