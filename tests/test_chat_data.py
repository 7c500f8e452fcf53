"""Real conversation for the chat model (issue 16): reading DailyDialog, Synthetic-Persona-Chat and MSC,
their replies as examples, the recipe's mix and vocabulary, starting from an earlier model, the
DailyDialog/MSC figures and the hand-judged small talk, through the real CLI."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import tarfile
import zipfile

import pytest
import torch
from click.testing import CliRunner

import cli
from assistant.assistant import load_generator
from assistant.checkpoint import load_checkpoint, save_checkpoint
from assistant.generator import GO, Generator, GeneratorConfig
from assistant.lines import Line
from lab import chat_data
from lab.chat_eval import distinct, score_replies
from lab.chat_training import ChatTrainConfig, build_training_data, chat_vocabulary, started_from, training_sources
from lab.small_talk_eval import Played, judged, read_judgements, read_turns, summary
from lab.training import TrainConfig
from test_assistant import tiny_checkpoint

DAILY = [  # (split, turns)
    ("train", ["Hi, how are you?", "Fine, thanks. And you?", "Great, the weather is lovely."]),
    ("train", ["Shall we go to the cinema?", "Good idea, which film?"]),
    ("validation", ["Can I help you?", "Yes, a coffee please."]),
    ("test", ["Where is the station?", "Just around the corner.", "Thank you so much!"]),
]
PERSONA_ROWS = [
    {"user 1 personas": "I have a turtle named timothy.\nI love frisbee.",
     "user 2 personas": "I work as a baker.\nMy parents live in bora bora.",
     "Best Generated Conversation": "User 1: Hi, I'm [User 1's name]. What do you do?\nUser 2: I bake bread\n"
                                    "all night long.\nUser 1: I have a turtle named Timothy.\nUser 2: Nice, I love turtles."},
]
MSC = [{"personas": [["I own a Jeep."], ["I don't own a car.", "I like running."]],
        "dialog": [{"text": "Did you go for a run?", "id": "50997"}, {"text": "Yes, a long one.", "id": "Speaker 2"},
                   {"text": "Was it far?", "id": "Speaker 1"}]}]


@pytest.fixture
def data(tmp_path):
    """A shared-data folder in the real layouts, with a few dialogues of each set."""
    root = tmp_path / "data"
    (root / "dailydialog").mkdir(parents=True)
    dialogues = [{"data_split": split, "turns": [{"utterance": u} for u in turns]} for split, turns in DAILY]
    with zipfile.ZipFile(root / "dailydialog" / "dailydialog.zip", "w") as archive:
        archive.writestr("data/dialogues.json", json.dumps(dialogues))
    (root / "synthetic_persona_chat").mkdir()
    with (root / "synthetic_persona_chat" / chat_data.SPC_TEST).open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(PERSONA_ROWS[0]))
        writer.writeheader()
        writer.writerows(PERSONA_ROWS)
    (root / "msc").mkdir()
    with tarfile.open(root / "msc" / "msc-valid-test.tar.gz", "w:gz") as archive:
        for session in (2, 3):
            payload = "\n".join(json.dumps(e) for e in MSC).encode()
            info = tarfile.TarInfo(f"msc/msc_dialogue/session_{session}/test.txt")
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    for function in (chat_data.dailydialog, chat_data.persona_chat_test, chat_data.msc):
        function.cache_clear()
    return root


def test_the_three_sets_are_read_with_their_speakers_and_memories(data):
    train = chat_data.dailydialog(data, "train")
    assert len(train) == 2 and [s for s, _ in train[0].turns] == [0, 1, 0]
    assert chat_data.dailydialog(data, "test")[0].turns[1] == (1, "Just around the corner.")
    persona = chat_data.persona_chat_test(data)[0]
    assert persona.memories[1] == ("I work as a baker.", "My parents live in bora bora.")
    assert persona.turns[1] == (1, "I bake bread all night long.")  # a turn over two lines is one turn
    session = chat_data.msc(data, 2)[0]
    assert [s for s, _ in session.turns] == [0, 1, 0]  # a worker's number instead of "Speaker 1" is speaker 1
    assert session.memories == (("I own a Jeep.",), ("I don't own a car.", "I like running."))


def test_each_reply_is_the_bot_reading_its_own_memories_and_the_turns_before(data):
    found = chat_data.examples(chat_data.persona_chat_test(data), window=2)
    assert [e.reply for e in found] == ["I bake bread all night long.", "I have a turtle named Timothy.",
                                        "Nice, I love turtles."]  # the unfilled name slot is never a reply
    last = found[-1]
    assert [line for line in last.context if line.speaker == "kb"] == [
        Line("kb", "I work as a baker."), Line("kb", "My parents live in bora bora.")]
    assert [line.speaker for line in last.context[2:]] == ["bot", "user"]  # the last 2 turns, the other's last
    assert last.history == (Line("user", "Hi, I'm . What do you do?"),)  # older turns, slot left out
    bare = chat_data.examples(chat_data.msc(data, 2), window=6, memories=False)
    assert all(line.speaker != "kb" for e in bare for line in e.context) and len(bare) == 2


def test_distractors_are_stored_facts_shown_to_a_share_of_everyday_replies():
    found = [chat_data.Example(i, (Line("user", "hello"),), "hi") for i in range(400)]
    shown = chat_data.with_distractors(found, ["My dog is Rex.", "I live in Porto."], 0.3, 2, seed=0)
    with_facts = [e for e in shown if e.context[0].speaker == "kb"]
    assert 0.2 < len(with_facts) / len(shown) < 0.4
    assert all(e.context[-1] == Line("user", "hello") and e.reply == "hi" for e in shown)


TINY = ChatTrainConfig(conversations=20, dev_conversations=4, dailydialog=3, persona_chat=3, min_count=2,
                       dev_dailydialog=1, generator=GeneratorConfig(dim=16, hops=1, max_reply=20),
                       train=TrainConfig(epochs=1, batch_size=16, optimizer="adam", lr=1e-3, lr_decay_every=0,
                                         select_on="loss"))


def test_the_mix_samples_real_conversation_and_keeps_its_rare_words_out(data):
    sources = training_sources(TINY, None, data)
    assert len(sources["dailydialog"]) == 3 and len(sources["persona_chat"]) == 3
    assert len(training_sources(dataclasses.replace(TINY, persona_chat=2), None, data)["persona_chat"]) == 2
    assert "dailydialog" not in training_sources(TINY, None, None)  # a clone without ../shared still trains
    vocab = chat_vocabulary(sources, min_count=2)
    assert "bake" not in vocab and "turtles" not in vocab and "timothy" not in vocab  # said once in real replies
    assert "remember" in vocab  # memchat's own words are all in
    assert "turtle" in chat_vocabulary(sources, min_count=1)


def test_a_run_started_from_an_earlier_model_keeps_its_weights_for_the_words_it_had(data, tmp_path):
    old = tiny_checkpoint(tmp_path / "old.pt")
    before = load_checkpoint(old, kind="generator-chat")
    _, _, vocab = build_training_data(TINY, None, data)
    config = GeneratorConfig(**before.config)
    model = Generator(len(vocab), config, go_id=vocab.id(GO))
    started_from(model, vocab, old)
    shared = [w for w in vocab.words if w in before.vocab][2:]
    assert len(shared) > 50
    for w in shared[:50]:
        assert torch.equal(model.words.weight[vocab.id(w)], before.state["words.weight"][before.vocab.id(w)])
        assert torch.equal(model.out.weight[vocab.id(w)], before.state["out.weight"][before.vocab.id(w)])
    assert torch.equal(model.decoder.weight_hh_l0, before.state["decoder.weight_hh_l0"])
    bigger = Generator(len(vocab), GeneratorConfig(dim=32, hops=1), go_id=vocab.id(GO))
    with pytest.raises(Exception, match="another size"):
        started_from(bigger, vocab, old)


def test_distinct_counts_distinct_ngrams_of_all_replies_together():
    assert distinct(["I am fine.", "I am here!"]) == (4 / 6, 3 / 4)  # i, am, fine, here; (i am) twice
    assert distinct([]) == (0.0, 0.0)


def test_a_tiny_model_is_scored_and_the_cli_writes_dailydialog_and_msc_results(data, tmp_path):
    path = tiny_checkpoint(tmp_path / "chat.pt")
    model, vocab = load_generator(path)
    scores = score_replies(model, vocab, chat_data.examples(chat_data.dailydialog(data, "test"), window=6))
    assert scores.examples == 2 and scores.perplexity > 1 and 0 <= scores.f1 <= 100
    assert scores.reference_distinct_1 == 1.0  # "just around the corner" / "thank you so much": no word twice
    out = tmp_path / "results"
    for command, stem in (("dailydialog", "dailydialog"), ("msc", "msc")):
        run = CliRunner().invoke(cli.cli, ["eval", command, "--data", str(data), "--model", str(path),
                                           "--results", str(out)])
        assert run.exit_code == 0, run.output
        assert (out / f"{stem}.md").exists()
    payload = json.loads((out / "msc.json").read_text())
    assert payload["dialogues"] == 2 and payload["with_memory"]["examples"] == payload["without_memory"]["examples"] == 4
    assert "F1 gap" in (out / "msc.md").read_text()


def test_missing_data_is_a_clear_error(tmp_path, capsys):
    path = tiny_checkpoint(tmp_path / "chat.pt")
    for command, missing in (("dailydialog", "dailydialog.zip"), ("msc", "msc-valid-test.tar.gz")):
        with pytest.raises(SystemExit) as exit_:
            cli.main(["eval", command, "--data", str(tmp_path), "--model", str(path)])
        stderr = capsys.readouterr().err
        assert exit_.value.code == 1 and missing in stderr and "--data" in stderr and "Traceback" not in stderr


def test_small_talk_turns_and_hand_verdicts_are_read_and_counted(tmp_path):
    turns = tmp_path / "turns.txt"
    turns.write_text("# a comment\nfact: My dog is called Rex.\n\nhi\nthanks!\n\n\nbye\n")
    read = read_turns(turns)
    assert read.facts == ("My dog is called Rex.",) and read.sessions == (("hi", "thanks!"), ("bye",))
    verdicts = tmp_path / "judged.tsv"
    verdicts.write_text("turn\treply\tverdict\tnote\nhi\tHello!\tsensible\t\nthanks!\tHello!\tnot\ta greeting\n")
    played = [Played(1, "hi", "Hello!", "small_talk", 0), Played(1, "thanks!", "Hello!", "small_talk", 0),
              Played(2, "bye", "See you.", "small_talk", 0)]
    counted = summary(judged(played, read_judgements(verdicts)))
    assert counted == {"turns": 3, "judged": 2, "sensible": 1, "sensible_share": 50.0, "stored_memories": 0}
    verdicts.write_text("hi\tHello!\tmaybe\n")
    with pytest.raises(Exception, match="sensible/not"):
        read_judgements(verdicts)


def test_memchat_eval_small_talk_plays_the_turns_through_the_assistant(tmp_path):
    turns = tmp_path / "turns.txt"
    turns.write_text("fact: My dog is called Rex.\n\nhello there\nthank you\n\nsee you soon\n")
    out = tmp_path / "small-talk"
    run = CliRunner().invoke(cli.cli, ["eval", "small-talk", "--turns", str(turns), "--judged", str(tmp_path / "none.tsv"),
                                       "--model", str(tiny_checkpoint(tmp_path / "chat.pt")), "--out", str(out), "--json"])
    assert run.exit_code == 0, run.output
    payload = json.loads(run.output)
    assert [t["turn"] for t in payload["turns"]] == ["hello there", "thank you", "see you soon"]
    assert all(t["reply"] for t in payload["turns"]) and payload["summary"]["judged"] == 0
    assert "not judged yet" in out.with_name("small-talk.md").read_text()


def test_greedy_decoding_can_refuse_to_say_an_ngram_twice():
    from assistant.decoding import _repeats

    assert _repeats([5, 6, 7, 5, 6], 3) == [7]  # "5 6" was followed by 7: 7 would repeat the trigram
    assert _repeats([5, 6, 5], 2) == [6] and _repeats([5], 3) == [] and _repeats([1, 2], 0) == []
    assert _repeats([4, 4], 1) == [4, 4]  # unigrams: every word said
