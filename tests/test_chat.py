"""The terminal chat through the real CLI process: tell, ask, forget, restart, ask again, let time pass."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT, subprocess_env


def chat(home, lines: list[str], user: str = "default", options: tuple[str, ...] | None = None,
         now: str | None = None) -> str:
    """The chat as a subprocess; `options` default to a tiny untrained generator (the shipped turn model
    and memory reader still decide what each line asks and which memory answers); `now`: --now TIME."""
    if options is None:
        from test_assistant import tiny_checkpoint

        path = home.parent / "tiny-chat.pt"
        options = ("--model", str(path if path.exists() else tiny_checkpoint(path)))
    result = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "--home", str(home), "--user", user,
         *(("--now", now) if now else ()), "chat", *options],
        input="\n".join(lines) + "\n", capture_output=True, text=True, env=subprocess_env(COLUMNS="200"), timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result.stdout


def test_slash_commands_restart_and_time_passing(tmp_path):
    home = tmp_path / "home"
    first = chat(home, [
        "/remember My sister Ana lives in Lisbon.",
        "/add I have a dog called Rex.",
        "/remember I work as a nurse at Santa Maria hospital.",
        "/search where does my sister live?",
        "/forget 2",
        "/quit",
    ])
    assert first.count("Noted (fact") == 3
    assert "Lisbon" in first.split("Search")[1]
    assert "Forgot: 2 I have a dog called Rex." in first

    second = chat(home, ["/pin 1", "/advance 400d", "/facts all"])
    assert "2 fact(s) in memory" in second
    # The unpinned job fact has faded; the dog, forgotten for more than 30 days, would be erased; the pinned
    # one stays. Nothing of it is written: the simulated clock only shows.
    assert "By then 1 fact(s) have faded" in second and "1 would be erased" in second
    table = second.split("fact(s) of default")[-1]
    assert "active (pinned)" in table and "dormant" in table and "Rex" in table
    assert "2 fact(s) in memory" in chat(home, ["/facts"])  # after a restart: the real store is unharmed

    third = chat(home, ["/advance 400d", "/decay apply", "/facts all"])
    assert "1 went dormant, 1 were purged" in third
    table = third.split("fact(s) of default")[-1]
    assert "dormant" in table and "Rex" not in table


def test_errors_are_reported_and_the_chat_goes_on(tmp_path):
    out = chat(tmp_path / "h", ["/restore 99", "/explain abc", "/frobnicate", "/remember I like tea."])
    assert "Unknown command /frobnicate" in out and "Noted (fact 1," in out
    assert out.rstrip().endswith("Bye.")


def test_errors_go_to_stderr(tmp_path):
    from test_assistant import tiny_checkpoint

    model = tiny_checkpoint(tmp_path / "chat.pt")
    result = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "--home", str(tmp_path / "h"), "chat", "--model", str(model)],
        input="/restore 99\n/explain abc\n", capture_output=True, text=True, env=subprocess_env(), timeout=300,
    )
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert "no fact with id 99" in result.stderr and "give a fact id" in result.stderr


def test_users_are_kept_apart_in_the_chat(tmp_path):
    home = tmp_path / "home"
    chat(home, ["/remember My car is a blue Fiat."], user="ana")
    out = chat(home, ["/facts"], user="bob")
    assert "I know nothing yet." in out and "Fiat" not in out


def test_chat_words_without_a_slash_help_and_exit(tmp_path):
    out = chat(tmp_path / "home", ["help", "exit", "/remember never reached"])
    assert "/remember TEXT" in out  # the help text
    assert "Noted" not in out  # "exit" left before the next line


def test_with_a_model_the_assistant_replies_stores_explains_and_forgets(tmp_path):
    """The generator path through the real process, with a tiny untrained model: what is stored, forgotten,
    explained and kept across a restart (the wording of replies is the trained model's, measured by
    `memchat eval recall`)."""
    from test_assistant import tiny_checkpoint

    model = ("--model", str(tiny_checkpoint(tmp_path / "chat.pt")))
    home = tmp_path / "home"
    first = chat(home, [
        "My sister Ana lives in Lisbon.",
        "Remember that my dog is called Rex.",
        "I work as a nurse in Porto.",
        "where does my sister Ana live?",
        "/why",
        "forget that my dog is called Rex",
        "/quit",
    ], options=model)
    assert "model chat.pt" in first
    assert first.count("remembered as fact") == 3
    assert "Facts behind my last answer" in first and "My sister Ana lives in Lisbon." in first
    assert "forgot fact 2" in first
    second = chat(home, ["what do you know about me?", "/advance 400d", "/facts all"], options=model)
    assert "2 fact(s) in memory" in second
    listed = second.split("It is now")[0]  # the reply to "what do you know about me?"
    assert "You work as a nurse in Porto." in listed and "Rex" not in listed
    assert "faded" in second and "dormant" in second.split("fact(s) of default")[-1]


def test_the_shipped_model_answers_from_memory_forgets_and_remembers_across_a_restart(tmp_path):
    """The README's first command as a new user meets it: the shipped model and update detector, the
    real embedding model, two processes."""
    from assistant.assistant import DEFAULT_MODEL

    assert DEFAULT_MODEL.exists(), "the default model is part of the product: assistant/models/default.pt"
    home = tmp_path / "home"
    first = chat(home, [
        "My sister Ana lives in Lisbon.",
        "Remember that my dog is called Rex.",
        "I work as a nurse.",
        "Where does my sister live?",
        "/why",
        "What is my dog called?",
        "What is my job?",
        "Forget that my dog is called Rex.",
        "/quit",
    ], options=())
    said = replies(first)
    assert "Lisbon" in said[3] and "Rex" in said[5] and "nurse" in said[6], said
    assert said[4].startswith("Facts behind my last answer") and "My sister Ana lives in Lisbon." in first
    assert "forgotten" in said[7] and first.count("remembered as fact") == 3
    second = chat(home, ["What is my dog called?", "Where does my sister live?", "/advance 400d", "/facts all"],
                  options=())
    said = replies(second)
    assert "Rex" not in said[0] and "Lisbon" in said[1], said
    assert "faded" in second


def replies(output: str, prompt: str = "default> ") -> list[str]:
    """What followed each prompt: one entry per line the user typed."""
    return [line[len(prompt):] for line in output.splitlines() if line.startswith(prompt)]
