"""The training data the lab makes for the turn model and the memory reader: what each generator promises
about its labels, checked on hand-made inputs (no shared data needed)."""
from __future__ import annotations

import random

from lab.corpora import QA, Article, Dialogue, Paragraph, sentence_spans
from lab.reading_data import dialogue_examples, squad_examples, version_examples
from lab.turn_data import FILLER_AFTER, REMARKS, TITLES, _Pool, chatter


def test_a_title_stop_ends_no_sentence():
    text = "Her GP is Dr. Lindqvist. She moved to St. Mary's last year! Is it far?"
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "Her GP is Dr. Lindqvist.", "She moved to St. Mary's last year!", "Is it far?"]


def _pool() -> _Pool:
    facts = ["My sister lives in Leeds.", "The boiler was serviced in March.", "We need eggs, milk and flour."]
    return _Pool(facts=facts, questions=["What time does the gym open?", "Who is Ana's dentist?"],
                 talk=["hi there"], topics=["my car", "my job"], names=["Lindqvist", "Okafor"])


def test_hard_statements_label_whole_facts_and_keep_titles_inside_them():
    pool, rng = _pool(), random.Random(3)
    seen_title = False
    for _ in range(300):
        example = pool.hard_statement(rng)
        assert example.kind == "statement" and example.spans
        told = [example.text[a:b] for a, b in example.spans]
        assert all(t.strip() == t and t for t in told)
        for title in TITLES:  # a title and the name after it stay in one fact
            at = example.text.find(title + " ")
            if at >= 0:
                seen_title = True
                assert any(a <= at and at + len(title) + 1 < b for a, b in example.spans), example
        remark = example.text[max(b for _, b in example.spans):]
        assert not any(c.isalpha() for c in remark) or any(r.strip(" ,") in remark for r in (*REMARKS, *FILLER_AFTER)), example
    assert seen_title


def test_hard_questions_and_forgets_have_their_kind_and_name_their_target():
    pool, rng = _pool(), random.Random(5)
    for _ in range(200):
        question = pool.hard_question(rng)
        assert question.kind == "question" and not question.text.endswith("?") and not question.spans
        assert pool.request_question(rng).kind == "question" and pool.hard_talk(rng).kind == "small_talk"
        forget = pool.hard_forget(rng)
        assert forget.kind == "forget" and len(forget.spans) == 1
        a, b = forget.spans[0]
        assert forget.text[a:b].strip() and forget.text[a:b].strip() == forget.text[a:b]


def _dialogue() -> Dialogue:
    lines = (("W", "I am thinking of taking the train to Glasgow on Friday."),
             ("M", "Why not fly? It only takes an hour."),
             ("W", "Flights are expensive and the airport is far from my flat."),
             ("M", "Fair enough. Say hello to your aunt Morag from me."))
    questions = (("How will the woman travel to Glasgow?", "By train."),
                 ("Who will the woman visit?", "Her aunt Morag."),
                 ("How does the man feel?", "He is worried."))  # implied: in no sentence
    return Dialogue(lines, questions)


def test_dialogue_questions_point_at_the_sentence_that_says_the_answer_or_at_none():
    examples = dialogue_examples([_dialogue()], None, seed=0)
    answered = [e for e in examples if e.answer is not None]
    unanswered = [e for e in examples if e.answer is None]
    assert sorted(e.memories[e.answer] for e in answered) == [
        "I am thinking of taking the train to Glasgow on Friday.", "Say hello to your aunt Morag from me."]
    for e in answered:
        a, b = e.span
        assert e.memories[e.answer][a:b] in ("train", "aunt Morag")
    assert len(unanswered) == 2  # the same questions over the sentences without the answer
    for e in unanswered:
        said = "train" if "travel" in e.question else "Morag"
        assert e.memories and not any(said in m for m in e.memories)
    assert not any(e.question.lower().startswith("how does the man feel") for e in examples)


def test_chatter_is_small_talk_and_a_fact_told_with_chatter_keeps_only_the_fact():
    pool, rng = _pool(), random.Random(7)
    for _ in range(300):
        talk = chatter(rng)
        assert talk.kind == "small_talk" and not talk.spans and talk.text.strip()
        told = pool.chatty_statement(rng)
        assert told.kind == "statement" and len(told.spans) == 1
        a, b = told.spans[0]
        fact = told.text[a:b].lower().replace("'", "")
        assert any(_loosely(fact) == _loosely(f.rstrip(".")) for f in pool.facts), told
        assert told.text[:a].strip() or told.text[b:].strip(" .")  # the chatter is outside the fact


def _loosely(text: str) -> str:
    """Text without case, apostrophes or the one typo `_typed` may make (letters compared as a multiset)."""
    return "".join(sorted(text.lower().replace("'", "")))


def _article() -> Article:
    context = ("The library opened in 1903. Its first librarian was Agnes Reid. "
               "The reading room seats 120 people. A new wing was added in 1961.")
    at = context.index
    qas = (QA("When did the library open?", (("1903", at("1903")),)),
           QA("Who was the first librarian?", (("Agnes Reid", at("Agnes Reid")),)),
           QA("How many people does the reading room seat?", (("120", at("120")),)),
           QA("When was the new wing added?", (("1961", at("1961")),)),
           QA("Who designed the new wing?", ()))
    museum = "The museum opened in 1921. It holds 4000 paintings. Its director is Ruth Lane."
    where = museum.index
    others = (QA("When did the museum open?", (("1921", where("1921")),)),
              QA("How many paintings does it hold?", (("4000", where("4000")),)),
              QA("Who is its director?", (("Ruth Lane", where("Ruth Lane")),)))
    return Article("Library", (Paragraph(context, qas), Paragraph(museum, others)))


def test_a_question_without_its_answering_sentence_is_answered_by_none():
    examples = squad_examples([_article()], seed=0, dropped=1.0)
    dropped = [e for e in examples if e.answer is None and e.question != "Who designed the new wing?"]
    assert dropped  # every answerable question also asked without its sentence, unless the answer is elsewhere
    for e in dropped:
        asked = next(x for x in examples if x.question == e.question and x.answer is not None)
        assert len(e.memories) == len(asked.memories) - 1
        assert not any(t.lower() in m.lower() for t in asked.answers for m in e.memories)
    assert len(squad_examples([_article()], seed=0)) == 8  # off by default: test sets stay as they were


def test_a_correction_and_the_sentence_it_corrects_both_answer_the_question():
    examples = version_examples([_article()] * 8, count=100, seed=1)
    assert examples
    for e in examples:
        assert len(e.also) == 1 and e.also[0] != e.answer
        new = e.memories[e.answer][e.span[0]:e.span[1]]
        assert new.lower() == e.answers[0].lower() and new.lower() not in e.memories[e.also[0]].lower()
        assert len(e.memories) <= 8


def test_with_the_newest_told_the_correction_alone_answers_and_the_old_sentence_keeps_what_it_left():
    context = ("The bridge opened in 1932 and was designed by Ada Kerr. It crosses the river at Millford. "
               "Its main span is 300 metres. Trams crossed it until 1958.")
    at = context.index
    qas = (QA("When did the bridge open?", (("1932", at("1932")),)),
           QA("Who designed the bridge?", (("Ada Kerr", at("Ada Kerr")),)),
           QA("How long is the main span?", (("300 metres", at("300 metres")),)),
           QA("Until when did trams cross it?", (("1958", at("1958")),)))
    tower = "The tower was finished in 1889 by Tom Hale. It is 120 metres tall."
    where = tower.index
    values = (QA("When was the tower finished?", (("1889", where("1889")),)),  # values a correction may take
              QA("Who built the tower?", (("Tom Hale", where("Tom Hale")),)),
              QA("How tall is the tower?", (("120 metres", where("120 metres")),)))
    article = Article("Bridge", (Paragraph(context, qas), Paragraph(tower, values)))
    examples = [e for e in version_examples([article] * 30, count=1000, seed=3, newest=True)
                if any(m in context for m in e.memories)]
    corrected = [e for e in examples if e.answers[0] not in context]
    kept = [e for e in examples if e.answers[0] in context]
    assert corrected and kept  # both kinds are drawn
    for e in examples:
        assert e.also == () and len(e.ages) == len(e.memories)
        said = e.memories[e.answer][e.span[0]:e.span[1]]
        assert said.lower() in [a.lower() for a in e.answers]
    for e in corrected:  # the correction is told last of all
        assert e.ages[e.answer] == max(e.ages)
    for e in kept:  # a question its correction leaves alone: the old sentence, told before the correction
        assert e.ages[e.answer] < max(e.ages) and e.memories[e.answer] in context
