"""The fact commands through the real CLI: the happy paths, and bad input that must fail cleanly."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys

import pytest

import cli
from conftest import ROOT, subprocess_env
from memory_store import MemoryStore


def run(argv: list[str], capsys, monkeypatch=None, stdin: bytes | None = None) -> tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    try:
        cli.main(argv)
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def base_home(tmp_path_factory, minilm):
    """A store made once through the CLI with one fact; each test works on a copy."""
    home = tmp_path_factory.mktemp("base") / "home"
    code = None
    try:
        cli.main(["--home", str(home), "add", "My sister Ana lives in Lisbon."])
    except SystemExit as e:
        code = e.code
    assert code in (0, None)
    return home


@pytest.fixture
def home(base_home, tmp_path):
    target = tmp_path / "home"
    shutil.copytree(base_home, target)
    return target


def fact_count(home, capsys) -> int:
    code, out, _ = run(["--home", str(home), "facts", "--all", "--json"], capsys)
    assert code == 0
    return len(json.loads(out))


def test_add_search_forget_restore_through_the_cli(home, capsys, monkeypatch):
    h = ["--home", str(home)]
    assert run(h + ["add", "--importance", "0.9", "My dog is called Rex."], capsys)[0] == 0
    code, out, _ = run(h + ["add", "-"], capsys, monkeypatch, stdin="I work at the Lisbon aquarium.\n".encode())
    assert code == 0 and "Remembered fact 3" in out
    code, out, _ = run(h + ["search", "what is my dog's name?", "-k", "1", "--json"], capsys)
    assert code == 0 and json.loads(out)[0]["fact"]["text"] == "My dog is called Rex."
    code, out, _ = run(h + ["forget", "--match", "my dog", "--yes"], capsys)
    assert code == 0 and "Forgot 1 fact(s): 2" in out
    code, out, _ = run(h + ["facts", "--json"], capsys)
    assert [f["id"] for f in json.loads(out)] == [1, 3]
    assert run(h + ["restore", "2"], capsys)[0] == 0
    code, out, _ = run(h + ["facts"], capsys)
    assert "Rex" in out and "3 fact(s)" in out


def test_forget_by_words_names_every_fact_about_them_and_shows_them_first(home, capsys):
    h = ["--home", str(home)]
    for text in ("My dentist is Dr Ames on Hill Street.", "The dentist appointment is on May 3rd.",
                 "My car is a blue Honda."):
        assert run(h + ["add", "--raw", text], capsys)[0] == 0
    code, out, err = run(h + ["forget", "--match", "the dentist stuff"], capsys)  # shown, then asked
    assert code == 2 and "Dr Ames" in out and "May 3rd" in out and "Honda" not in out and "--yes" in err
    assert fact_count(home, capsys) == 4
    code, out, _ = run(h + ["forget", "the dentist stuff", "--yes"], capsys)
    assert code == 0 and "Forgot 2 fact(s)" in out
    code, out, _ = run(h + ["facts", "--json"], capsys)
    assert sorted(f["text"] for f in json.loads(out)) == ["My car is a blue Honda.", "My sister Ana lives in Lisbon."]
    code, out, _ = run(h + ["forget", "--match", "my old laptop", "--yes"], capsys)  # a word held, the meaning not
    assert code == 0 and "nothing forgotten" in out


def test_user_option_keeps_people_apart(home, capsys):
    h = ["--home", str(home)]
    assert run(h + ["--user", "bob", "add", "Bob's cat is called Tom."], capsys)[0] == 0
    code, out, _ = run(h + ["--user", "bob", "facts", "--json"], capsys)
    assert [f["text"] for f in json.loads(out)] == ["Bob's cat is called Tom."]
    code, out, _ = run(h + ["search", "cat", "--json"], capsys)
    assert all(hit["fact"]["user"] == "default" for hit in json.loads(out))


def test_now_simulates_time_passing_and_writes_nothing_until_applied(home, capsys):
    h = ["--home", str(home)]
    code, out, _ = run(h + ["--now", "+400d", "decay", "--dry-run"], capsys)
    assert code == 0 and "Checked 1 of default's fact(s)" in out
    assert "1 would go dormant, 0 would be purged, 0 unchanged" in out
    code, out, _ = run(h + ["--now", "+400d", "facts", "--all", "--json"], capsys)  # agrees with decay --dry-run
    [then] = json.loads(out)
    assert then["status"] == "dormant" and then["retention"] < 0.5
    code, out, _ = run(h + ["--now", "+400d", "facts"], capsys)
    assert "No facts" in out  # free recall shows active memories only
    code, out, _ = run(h + ["--now", "+400d", "explain", "1"], capsys)
    assert f"status dormant, retention {then['retention']:.2f}" in out
    code, out, _ = run(h + ["facts", "--all", "--json"], capsys)
    assert json.loads(out)[0]["status"] == "active"  # today, in the store: nothing was written
    code, out, err = run(h + ["--now", "+400d", "decay"], capsys)  # no terminal to confirm on: writes nothing
    assert code == 2 and "rerun with --apply" in out + err and fact_count(home, capsys) == 1
    code, out, _ = run(h + ["--now", "+400d", "decay", "--apply"], capsys)
    assert "1 went dormant" in out
    code, out, _ = run(h + ["--now", "+450d", "decay", "--apply"], capsys)
    assert "1 were purged" in out and fact_count(home, capsys) == 0


def test_explain_history_stats_export_import_reindex(home, tmp_path, capsys):
    h = ["--home", str(home)]
    code, out, _ = run(h + ["--now", "+10d", "explain", "1"], capsys)
    assert code == 0 and "fades (goes dormant) around" in out and "Forecast" in out
    code, out, _ = run(h + ["history", "1", "--json"], capsys)
    assert [e["kind"] for e in json.loads(out)] == ["add"]
    code, out, _ = run(h + ["stats", "--json"], capsys)
    assert json.loads(out)["embedder"] == "all-MiniLM-L6-v2"
    assert run(h + ["export", str(tmp_path / "x.jsonl")], capsys)[0] == 0
    other = ["--home", str(tmp_path / "other")]
    code, out, _ = run(other + ["import", str(tmp_path / "x.jsonl")], capsys)
    assert code == 0 and "Imported 1 fact(s)" in out
    code, out, _ = run(other + ["reindex"], capsys)
    assert code == 0 and "1 active fact(s)" in out


BAD_INPUTS = [
    (["add", ""], "empty", None),
    (["add", "   \t "], "empty or only whitespace", None),
    (["add", "x" * 2001], "at most 2000 characters", None),
    (["add", "-"], "NUL", b"secret\x00bytes"),
    (["add", "-"], "not valid UTF-8", b"caf\xe9 au lait"),
    (["add", "-"], "empty", b""),
    (["add", ""], "nothing to remember", None),
    (["add", "--importance", "1.5", "text"], "1.5 is not in the range", None),
    (["add", "--importance", "high", "text"], "not a valid float", None),
    (["forget", "999"], "no fact with id 999", None),
    (["forget"], "say what to forget", None),
    (["forget", "1", "--match", "sister"], "not both", None),
    (["forget", "my", "sister"], "rerun with --yes", None),
    (["forget", "my sister", "--match", "sister"], "not both", None),
    (["forget", "--match", "sister"], "rerun with --yes", None),
    (["forget", "--hard", "999"], "no fact with id 999", None),
    (["restore", "999"], "no fact with id 999", None),
    (["edit", "999", "My sister Ana lives in Porto."], "no fact with id 999", None),
    (["edit", "one", "My sister Ana lives in Porto."], 'edit takes a fact id (a number, see `memchat facts`), not \'one\'', None),
    (["edit", "My sister Ana lives in Porto."], 'memchat edit 12 "new text"', None),
    (["restore", "sister"], "`memchat facts --all` lists forgotten", None),
    (["explain", "my sister"], '`memchat search "my sister"` finds the fact', None),
    (["history", "sister"], "`memchat history` alone shows the whole log", None),
    (["edit", "1", "  "], "empty or only whitespace", None),
    (["edit", "1"], "Missing argument 'TEXT'", None),
    (["explain", "999"], "no fact with id 999", None),
    (["history", "999"], "no fact with id 999", None),
    (["search", "sister", "-k", "0"], "Invalid value for '-k'", None),
    (["search", "sister", "-k", "-5"], "Invalid value for '-k'", None),
    (["search", ""], "a query cannot be empty", None),
    (["--now", "someday", "facts"], "is not a time", None),
    (["--now", "2026-13-45", "facts"], "is not a time", None),
    (["--user", "bad user!", "facts"], "invalid user name", None),
    (["import", "{tmp}/missing.jsonl"], "cannot read", None),
    (["import", "{tmp}/bad.jsonl"], "line 2: not JSON", None),
    (["export", "{tmp}/no/such/dir/out.jsonl"], "cannot write", None),
    (["frobnicate"], "No such command", None),
    (["--now", "+10000y", "facts"], "longer than a thousand years", None),
    (["--now", "9999-12-01", "facts"], "between 1970 and 9000", None),
    (["--user", "[/]", "facts"], "invalid user name '[/]'", None),
    (["search", "[/]", "-k", "0"], "Invalid value for '-k'", None),
    (["train-reader", "--joint", "--dialogues", "--data", "{tmp}", "--out", "{tmp}/r.pt"], "choose one", None),
    (["train-reader", "--joint", "--members", "2", "--data", "{tmp}", "--out", "{tmp}/r.pt"], "takes no --members",
     None),
    (["join-readers", "{tmp}/bad.jsonl", "--data", "{tmp}", "--out", "{tmp}/r.pt"], "two or more readers", None),
    (["join-readers", "{tmp}/bad.jsonl", "{tmp}/../{tmp_name}/bad.jsonl", "--data", "{tmp}", "--out", "{tmp}/r.pt"],
     "each file once", None),
    (["join-readers", "--data", "{tmp}", "--out", "{tmp}/r.pt"], "Missing argument 'MEMBERS...'", None),
]


@pytest.mark.parametrize("argv, message, stdin", BAD_INPUTS, ids=[" ".join(a)[:40] for a, _, _ in BAD_INPUTS])
def test_bad_input_fails_cleanly_and_loses_nothing(home, tmp_path, capsys, monkeypatch, argv, message, stdin):
    (tmp_path / "bad.jsonl").write_text('{"text": "fine"}\n{oops\n')
    argv = [a.replace("{tmp_name}", tmp_path.name).replace("{tmp}", str(tmp_path)) for a in argv]
    code, out, err = run(["--home", str(home)] + argv, capsys, monkeypatch, stdin)
    assert code in (1, 2), f"exit code {code}: {out}{err}"
    assert message in out + err
    assert "Traceback" not in out + err
    assert fact_count(home, capsys) == 1


def test_text_with_markup_characters_is_shown_verbatim(home, capsys):
    h = ["--home", str(home)]
    for text in ("Use [/] to close tags", "I like [bold]bold[/bold] text"):
        code, out, err = run(h + ["add", "--raw", text], capsys)
        assert code == 0 and text in out, out + err
    code, out, err = run(h + ["facts"], capsys)
    assert code == 0 and "[/]" in out and "[bold]bold[/bold]" in out
    code, out, err = run(h + ["search", "close tags [/]", "--json"], capsys)
    assert code == 0 and json.loads(out)[0]["fact"]["text"] == "Use [/] to close tags"
    code, out, err = run(h + ["explain", "2"], capsys)
    assert code == 0 and "Use [/] to close tags" in out


def test_edit_changes_the_text_and_keeps_the_old_one_in_the_history(home, capsys):
    h = ["--home", str(home)]
    code, out, err = run(h + ["edit", "1", "My sister Ana lives in Porto [now]."], capsys)
    assert code == 0, out + err
    assert "Edited fact 1" in out and "was: My sister Ana lives in Lisbon." in out
    assert "now: My sister Ana lives in Porto [now]." in out
    code, out, _ = run(h + ["search", "where does my sister live?", "-k", "1", "--json"], capsys)
    [hit] = json.loads(out)
    assert (hit["fact"]["id"], hit["fact"]["text"]) == (1, "My sister Ana lives in Porto [now].")
    code, out, _ = run(h + ["history", "1", "--json"], capsys)
    assert [(e["kind"], e["replaced_text"]) for e in json.loads(out)] == [
        ("add", None), ("edit", "My sister Ana lives in Lisbon.")]
    code, out, _ = run(h + ["explain", "1"], capsys)
    assert code == 0 and "edit" in out and "was: My sister Ana" in out and "Lisbon" in out  # a table cell wraps
    code, out, _ = run(h + ["edit", "1", "My sister Ana lives in Porto [now]."], capsys)
    assert code == 0 and "already says" in out
    assert run(h + ["forget", "1"], capsys)[0] == 0
    code, out, err = run(h + ["edit", "1", "My sister Ana lives in Faro."], capsys)
    assert code == 1 and "forgotten and cannot be edited" in err and "memchat restore 1" in err
    code, out, _ = run(h + ["facts", "--all", "--json"], capsys)
    assert [f["text"] for f in json.loads(out)] == ["My sister Ana lives in Porto [now]."]


def test_history_of_an_erased_fact_is_kept(home, capsys):
    h = ["--home", str(home)]
    assert run(h + ["forget", "--hard", "--yes", "1"], capsys)[0] == 0
    code, out, _ = run(h + ["history", "1", "--json"], capsys)
    assert code == 0 and [e["kind"] for e in json.loads(out)] == ["add", "erase"]


def test_unusable_home_directory(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, out, err = run(["--home", str(blocker / "home"), "facts"], capsys)
    assert code == 1 and "cannot open a memory store" in err and "Traceback" not in err


def test_help_has_an_example_for_every_command(capsys):
    for name in cli.cli.commands:
        code, out, _ = run([name, "--help"], capsys)
        assert code == 0 and "Example" in out and "memchat " in out, name


def test_commands_that_need_no_embedding_do_not_import_torch(tmp_path):
    script = (
        "import sys, cli\n"
        "for argv in (['facts'], ['stats'], ['history'], ['explain', '1'], ['decay', '--dry-run']):\n"
        "    try:\n        cli.main(['--home', sys.argv[1]] + argv)\n    except SystemExit:\n        pass\n"
        "print('HEAVY', [m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules])\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "home")], capture_output=True, text=True,
                            env=subprocess_env(), cwd=ROOT, timeout=120)
    assert "HEAVY []" in result.stdout, result.stdout + result.stderr


def test_the_installed_console_script_reports_errors_without_traceback(tmp_path):
    exe = shutil.which("memchat") or str(ROOT / ".venv" / "bin" / "memchat")
    result = subprocess.run([exe, "--home", str(tmp_path / "h"), "restore", "42"], capture_output=True, text=True,
                            env=subprocess_env(), timeout=120)
    assert result.returncode == 1 and "no fact with id 42" in result.stderr and "Traceback" not in result.stderr


def test_eval_babi_without_data_says_where_to_point(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "default_data_dir", lambda name: None)
    code, out, err = run(["eval", "babi", "--runs", "1"], capsys)
    assert code == 2 and "pass --data DIR" in out + err
    code, out, err = run(["eval", "babi", "--data", str(tmp_path / "nothing"), "--tasks", "1", "--runs", "1"], capsys)
    assert code == 1 and "does not exist" in err and "Traceback" not in err
    code, out, err = run(["eval", "babi", "--tasks", "0-3", "--data", str(tmp_path)], capsys)
    assert code == 1 and "numbered 1-20" in err


def test_search_modes_time_windows_and_what_found_each_hit(home, capsys):
    h = ["--home", str(home)]
    assert run(h + ["--now", "2026-02-01", "add", "Gate B42 is where Zsofia lands."], capsys)[0] == 0
    code, out, _ = run(h + ["--now", "2026-02-02", "search", "--mode", "lexical", "B42", "--json"], capsys)
    assert code == 0 and [x["found_by"] for x in json.loads(out)] == [["lexical"]]
    code, out, _ = run(h + ["--now", "2026-02-02", "search", "Zsofia", "-k", "2", "--json"], capsys)
    first = json.loads(out)[0]
    assert code == 0 and first["found_by"] == ["lexical", "dense"] and first["fact"]["created_at"].startswith("2026-02-01")
    assert cli.found_by(("lexical", "dense")) == "words + meaning"  # what the table shows
    code, out, _ = run(h + ["--now", "2026-02-02", "search", "--until", "2026-01-15", "Zsofia", "--json"], capsys)
    assert code == 0 and "Zsofia" not in out
    code, out, err = run(h + ["search", "--since", "yesterday", "Zsofia"], capsys)
    assert code == 2 and "--since" in err
    code, out, err = run(h + ["search", "--mode", "fuzzy", "Zsofia"], capsys)
    assert code == 2


def test_a_store_from_before_the_word_index_opens_and_keeps_every_fact(home, capsys):
    import sqlite3

    conn = sqlite3.connect(home / "memory.db")
    conn.executescript("DROP TABLE facts_fts; DELETE FROM meta WHERE key = 'lexical_index';")
    conn.close()
    code, out, _ = run(["--home", str(home), "search", "--mode", "lexical", "Lisbon", "--json"], capsys)
    assert code == 0 and [x["fact"]["text"] for x in json.loads(out)] == ["My sister Ana lives in Lisbon."]


def test_facts_says_which_memory_is_a_newer_version_of_which(home, capsys):
    h = ["--home", str(home)]
    assert run(h + ["add", "I booked the plumber for thursday."], capsys)[0] == 0
    with MemoryStore.open(home) as store:  # linked as the chat links them (assistant/remembering.py)
        store.follow(2, 1)
    code, out, _ = run(h + ["facts"], capsys)
    assert code == 0 and " ".join(out.replace("│", " ").split()).count("(newer than 1)") == 1  # the cell may wrap
    code, out, _ = run(h + ["facts", "--json"], capsys)
    assert [f["source"].get("follows") for f in json.loads(out)] == [None, 1]
