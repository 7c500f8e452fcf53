"""Labelled turns for the turn model (`assistant.turns`): what kind of turn a line is, and which of its
words are the facts it tells (or what a forget request names).

Real English carries most of it: persona sentences (Synthetic-Persona-Chat test), DailyDialog's train
split with its dialogue acts, SQuAD 2.0 questions and sentences from the training articles only
(`reading_data.squad_split`), DREAM's training questions, and the catalogue's train split. The wrappers
people put around a fact ("oh and ...", "... lol", "remember that ...", "actually ...") and the ways of
asking to forget or list are written here, as data, and composed with those sentences, so the model
learns where the fact is whatever surrounds it. The hand-written conversations under
`lab/conversations/` are never read here.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.turns import KINDS

from .corpora import (dailydialog, dream_questions, ends_in_abbreviation, persona_sentences, sentence_spans,
                      squad)
from .personal_data import small_talk_pairs
from .reading_data import squad_split
from .relations import catalogue, render


@dataclass(frozen=True)
class TurnExample:
    text: str
    kind: str  # one of assistant.turns.KINDS
    # the characters of each fact told (or of what a forget names); None: not known, the turn teaches its kind only
    spans: tuple[tuple[int, int], ...] | None = ()


# -- what people wrap around what they say (data, not runtime rules) ---------------------------------------
FILLER_BEFORE = ("oh and ", "btw ", "lol ", "tbh ", "so ", "ok so ", "hmm ", "fyi ", "also, ", "oh, ", "well, ",
                 "just so you know, ", "random but ", "quick one: ", "and ", "oh yeah, ", "ah, ", "by the way, ",
                 "heads up: ", "um ", "right, ", "anyway, ", "ooh ", "haha ", "ok ", "yeah ", "hey, ")
FILLER_AFTER = (" lol", " haha", " tbh", " :)", " btw", " fyi", " i guess", "!!", " lmao", " :D", " hehe",
                " just saying", " fwiw", " ;)", " xD", " ok?", " lol.")
NEWS = ("actually ", "actually, ", "no wait, ", "correction: ", "update: ", "oops, ", "sorry, i meant ",
        "never mind, ", "change of plan: ", "small change, ", "it changed, ", "wait no, ", "ah no, ",
        "let me correct that: ", "i was wrong, ", "update - ", "new info: ", "scratch that, ", "strike that, ",
        "no, ", "hmm actually ")
REMEMBER = ("remember that ", "please remember that ", "please remember ", "can you remember that ",
            "don't forget that ", "dont forget ", "make a note that ", "note: ", "note to self: ",
            "keep in mind that ", "save this: ", "for future reference, ", "i want you to remember that ",
            "store this: ", "memorize this: ", "could you note that ", "write this down: ", "log this: ",
            "remember: ", "pls remember ", "jot down that ", "keep a note: ")
JOINERS = (", and ", " and ", ". ", "; ", ", also ", " oh and ", ". btw ", ", plus ", "! ", " - ", ". also ",
           ", ", " and also ", ". oh and ", " & ", "... ")
FORGET = ("forget {t}", "please forget {t}", "forget about {t}", "can you forget {t}", "erase {t}",
          "delete {t}", "get rid of {t}", "clear {t} from your memory", "no need to remember {t} anymore",
          "{t} isn't relevant anymore, forget it", "unlearn {t}", "throw away {t}", "discard {t}",
          "remove {t}", "take {t} out of your notes", "don't hold on to {t}", "let go of {t}", "purge {t}",
          "cross off {t}", "strike {t}", "ditch {t}", "never mind {t}, forget it", "you don't need {t} anymore",
          "forget what i told you about {t}", "erase all you know about {t}", "forget all of {t}",
          "could you delete {t}?", "pls forget {t}", "stop keeping {t}", "i don't want {t} remembered",
          "don't store {t}", "drop {t}", "scratch {t}", "wipe {t}", "forget anything about {t}",
          "delete everything on {t}", "{t} is off, forget it", "{t}: forget it", "remove {t} from memory",
          "stop tracking {t}", "you can delete {t} now", "forget i ever mentioned {t}", "please erase {t}",
          "can you remove {t}?", "lose {t}", "bin {t}", "clear out {t}", "please don't keep {t}",
          # items off a list, and "the bit about" (added after the first hand-written conversations)
          "take {t} off", "take {t} off the list", "{t} can come off the list", "knock {t} off the list",
          "cross {t} off the list", "remove {t} from the list", "leave out the bit about {t}", "leave out {t}",
          "{t} is not needed, take it off", "skip {t}", "we don't need {t} now, delete it", "forget the bit about {t}",
          "lose the stuff about {t}", "clear the {t} stuff", "don't keep the {t} bit", "{t} is off the list now",
          "no need for {t} anymore, take it off", "you can drop {t} from the list")
FORGET_TOPICS = ("the trip", "the meeting", "the milk", "the dentist appointment", "the flight", "the budget",
                 "the party", "my ex", "the hotel", "my address", "my phone number", "the eggs", "the bread",
                 "my workplace", "my old job", "the car", "the recipe", "the wedding", "the deadline", "my boss",
                 "the vet appointment", "the gym schedule", "the book club", "my flatmate", "the move",
                 "the project", "the slides", "the password hint", "the birthday party", "the concert",
                 "the loan", "my doctor", "the medication", "the plumber", "the garden", "the batteries",
                 "the tickets", "my neighbour", "the landlord", "the exam", "the course", "the interview",
                 "the bike", "the renovation", "the holiday", "the rent", "the appointment", "the cat",
                 "the shopping list", "the reminder", "what i said about work", "that thing about my sister",
                 "the stuff about my brother", "everything about my cousin", "the last thing i said",
                 "my gym", "the babysitter", "the car repair", "the electrician", "the kids' schedule")
LIST = ("what do you know about me", "what have i told you", "list everything you remember",
        "show me my memories", "what's in your memory", "tell me everything you know about me",
        "what do you remember", "recap what you know", "summarize what i've told you", "show your notes",
        "list my facts", "what do you have on me", "what have you saved", "give me everything you stored",
        "what do you know so far", "show me what you remember about me", "list all memories",
        "what info do you have about me", "read back my notes", "what have you remembered")
HELP = ("help", "help me", "what can you do", "how does this work", "what commands are there", "show help",
        "how do i use this", "how do i use you", "commands", "?", "help please", "what are the commands",
        "how do i make you forget something", "instructions", "usage", "what can i say", "halp", "/?")
EXIT = ("exit", "quit", "q", "bye, exit", "close the chat", "end session", "stop the program", ":q",
        "quit please", "exit now", "quit the app", "exit chat", "i want to quit", "leave", "close", "end")
SMALL_TALK = ("hi", "hello", "hey", "hey there", "good morning", "good evening", "good night", "thanks",
              "thank you", "thanks!", "thank you so much", "cheers", "ok", "okay", "cool", "nice", "great",
              "lol", "haha", "lol ok", "how are you", "how's it going", "what's up", "sup", "how are you doing",
              "see you tomorrow", "bye", "goodbye", "see ya", "talk later", "night", "ttyl", "you're great",
              "tell me a joke", "that's funny", "awesome", "perfect", "sounds good", "got it", "sure",
              "hmm", "yes", "no", "nope", "yep", "alright", "wow", "oh no", "oops", "sorry", "no worries",
              "good job", "well done", "i'm bored", "what's new", "how was your day", "are you a robot",
              "who are you", "what's your name", "nice to meet you", "you too", "same", "ugh", "omg",
              "that's all for now", "k", "kk", "brb", "back", "hiya", "yo", "morning", "evening",
              "have a nice day", "take care", "hello again", "good afternoon", "thx", "ty", "np", "great, thanks")
# Small talk is often two pieces at once ("thanks, off to bed now"): second pieces, written here as data.
TALK_AFTER = ("off to bed", "catch you later", "that's super useful", "appreciate it", "you rock", "ok let's go",
              "long day today", "i'm off now", "fingers crossed", "all done for today", "see you soon",
              "that was quick", "nothing else for now", "speak tomorrow", "have a good one", "you're the best",
              "back to work", "so tired", "what a week", "love it", "that's handy", "happy friday",
              "that's it from me", "i'll be back later", "much appreciated", "i'm here again", "let's start",
              "busy busy", "time for dinner", "made my day", "good stuff", "nice one")
TALK_JOINERS = (", ", " ", "! ", ". ", " - ", "... ", " :) ")
# Why a user asks to forget, said after the request ("drop the gym schedule, it's done"): data.
FORGET_REASONS = (", it got cancelled", " - not needed anymore", ", i changed my mind", ", plans changed",
                  " since it's done", ", we sold it", " lol", ", it's sorted now", ", that's over",
                  ", no longer relevant", " because it fell through", ", not happening", ", all finished",
                  ", we broke up", ", moved on from that", " thanks", ", it's old news", ", i already did it")
QUESTION_OPENERS = ("remind me ", "hey, ", "quick question: ", "do you remember ", "can you tell me ", "so ",
                    "wait, ", "um ", "btw ", "ok and ", "and ", "hmm ", "sorry, ")
# Titles written with a stop, and facts naming someone by one (data: a stop after a title ends no fact).
TITLES = ("Dr.", "Mrs.", "Mr.", "Ms.", "Prof.", "dr.", "mrs.", "mr.", "St.")
TITLED = ("her GP is {n}", "my dentist is {n} at the Park Road surgery", "{n} is my son's teacher",
          "the piano lessons are with {n} on thursdays", "{n} from next door waters the plants",
          "my appointment is with {n} at 3pm", "we rent from {n}", "{n} runs the choir",
          "the vet we see is {n}", "{n} signed off the budget", "ask for {n} at reception", "{n} has our spare key",
          "the physio is {n}, mondays and thursdays", "{n} is covering my classes next week",
          "my mum's consultant is {n}", "the church on {n} Road has a fete on saturday")
# Remarks people add after telling something (", ugh"): outside the fact (data).
REMARKS = (", ugh", " ugh", ", finally", ", annoying", " yay", ", sadly", " which sucks", ", so that's nice",
           ", typical", ", boo", ", not bad", ", thank god", " unfortunately", ", sigh", " :(", ", can't wait",
           ", go figure", ", great...", " smh", ", nice")
EXTRA_STATEMENTS = 0.12  # share of a draw's count added as `hard_statement`s
# Forget requests given after their reason, which names the target (data).
REASONS_FIRST = ("{t} fell through", "{t} got cancelled", "we're not going ahead with {t}", "{t} is off",
                 "{t} is all sorted now", "i don't need {t} any more", "{t} isn't happening", "{t} is done with",
                 "we dropped {t}", "{t} doesn't matter now", "i gave up on {t}", "{t} was called off",
                 "turns out {t} is not a thing anymore", "{t} changed completely", "nobody cares about {t} now")
POINTING_JOINERS = (", ", " so ", ", so ", ". ", " - ", " and ", "; ")
POINTING_BACK = ("you can forget it", "forget that", "you can wipe that", "take it out of your notes",
                 "delete that", "drop it", "delete it please", "no need to keep it", "you can remove this",
                 "please forget about it", "scratch that from memory", "forget all of it", "get rid of that one",
                 "bin it", "clear that out", "you can let that go", "lose that note", "erase it",
                 "please don't keep it", "throw that away")
KEEP_OUT = ("i'd rather you didn't keep {t}", "please do not keep anything about {t}", "could you not store {t}",
            "leave {t} out of your notes", "keep {t} out of your memory", "don't hang on to {t}",
            "i'd prefer you not remember {t}", "stop remembering {t}", "please don't save {t}",
            "no more notes on {t} please", "you shouldn't keep {t}", "leave out anything about {t}",
            "dont hold {t} in memory", "i don't want you keeping {t}")
# Questions put as a request ("tell me my favourite drink", "the gate code again?"): frames and what they ask
# for beside the catalogue's topics (data: the turn model learned "tell me" as small talk or a statement).
ASK_FRAMES = ("tell me {t}", "remind me {t}", "remind me of {t}", "what's {t} again", "what was {t} again",
              "tell me what {t} is", "give me {t}", "i need {t}", "{t}?", "{t} again?", "i can't remember {t}",
              "what did i say {t} was", "i forgot {t}", "any idea what {t} is", "say {t} again", "need {t} please",
              "{t}, remind me?", "what is {t} again", "tell me {t} please", "remind me about {t}", "go on, {t}",
              "could you tell me {t}", "tell me again {t}", "quick, {t}", "and {t}?", "recall {t} for me")
ASKED_FOR = ("the wifi password", "the gate code", "my dentist's name", "the plumber's number", "when the bins go out",
             "the name of that cafe", "my locker number", "the kids' school hours", "the flight number",
             "the hotel address", "what time the train leaves", "my blood type", "the landlord's email",
             "this month's book", "where i parked", "my sister's new address", "the boiler engineer's name",
             "the project deadline", "who is on call this week", "the dog's vet", "my shoe size", "the pin for the bike lock",
             "what i need from the shop", "the budget for the kitchen", "my mum's medication", "the recipe's oven temperature",
             "the name of my manager", "the date of the wedding", "what the doctor said", "my cousin's birthday")
# Small talk addressed to the assistant, often with a question mark, that asks nothing of memory
# ("how's your day going?", "got any good riddles?"): data.
TALK_TO_YOU = ("how's your day going", "how are things with you", "you doing ok", "how's life", "how are you holding up",
               "what are you up to", "having a good day", "how's everything", "doing alright", "all good with you",
               "got any good riddles", "know a fun fact", "can you cheer me up", "entertain me", "amuse me a bit",
               "tell me something interesting", "tell me a story", "tell me a fun fact", "give me a riddle",
               "do you ever get tired", "do you sleep", "do you have feelings", "are you real", "are you human",
               "what can you do", "do you like me", "are you smart", "can you sing", "do you dream",
               "what's your favourite colour", "do you like pizza", "seriously?", "really?", "you sure?", "right?",
               "isn't it", "no way", "huh?", "what do you mean", "is that so", "you think so")
# Chatter around the facts: thanks with a remark, wrapping up, wishing luck, leaving, how the user feels, a
# grumble about something general. It tells nothing worth keeping (data; the first draws stored "thanks,
# that helps" and "ugh, mondays" as facts).
THANKS = ("thanks", "thank you", "cheers", "ta", "thx", "ty", "many thanks", "thanks a million", "thank u", "tysm",
          "merci", "gracias", "danke", "thanks so much", "ok thanks", "great thanks", "thank you kindly", "ta very much")
PRAISE = ("this helps loads", "that's really useful", "that's a massive help", "you're a lifesaver", "you're a star",
          "lifesaver", "that's great", "brilliant", "perfect, exactly what i needed", "that saves me so much hassle",
          "you make this easy", "that's sorted then", "you're a gem", "legend", "big help", "so helpful",
          "that takes a load off my mind", "you're brilliant at this", "that's a weight off", "nice one, really handy")
WRAP_UP = ("that's all", "that's it for now", "that's the lot", "i think that's all", "that covers it", "nothing else",
           "done for now", "that's everything i had", "i think that's it", "that's all the info", "that should be it",
           "and that's that", "all done", "i'm done for today", "that's about it", "that's all i've got",
           "i think i've told you everything", "that's the whole list i think", "ok that's them all")
LUCK = ("wish me luck", "fingers crossed", "here goes nothing", "let's hope it works out", "pray for me",
        "hope it goes well", "cross your fingers for me", "let's see how it goes", "wish me strength", "here we go",
        "ok here goes", "right, let's do this", "let's get started", "ready when you are", "ok first thing")
LEAVING = ("off to bed", "heading to bed now", "gotta run", "gotta go", "time to make dinner", "back to work",
           "off to the shops", "going to sleep now", "off to walk the dog", "off to make a coffee", "heading out now",
           "time for a nap", "logging off", "gonna go watch tv", "off to do the school run", "back later",
           "talk soon", "going for a run now", "gonna go cook", "time to get some work done", "brb, doorbell",
           "sorry, was on the phone", "sorry, got distracted", "ok i'm back", "sorry for the wait")
FEELINGS = ("i'm so tired", "i'm knackered", "i'm shattered", "so sleepy", "i'm exhausted today", "my brain is fried",
            "running on coffee today", "feeling a bit meh", "i'm so stressed", "long day", "what a week", "ugh",
            "i need a holiday", "i'm bored", "i'm starving", "i'm freezing", "so hot today", "in a good mood today",
            "feeling great today", "can't be bothered today", "my head is all over the place", "what a day")
GRUMBLED = ("mondays", "this week", "the commute", "the weather", "this heat", "the rain", "traffic", "exams",
            "meetings", "moving house", "wedding planning", "packing", "cooking for a crowd", "teenagers", "toddlers",
            "deadlines", "paperwork", "tax returns", "airports", "trains", "group chats", "diy", "night shifts",
            "budgeting", "christmas shopping", "this game", "that show", "football fans", "january", "admin",
            "builders", "conferences", "school holidays", "hospital car parks", "self assessment", "open plan offices")
GRUMBLES = ("{t} is the worst", "{t} are the worst", "{t} is so stressful", "{t} is exhausting", "{t} is such a pain",
            "{t} is a nightmare", "{t} is so much work", "{t} is chaos", "{t} drives me mad", "{t} is brutal",
            "{t} is killing me", "{t} never ends", "{t} is weirdly relaxing", "{t} is so addictive", "{t} is overrated",
            "{t} people are a strange bunch", "{t} is doing my head in", "{t} is a lot", "ugh, {t}", "{t} though")
TALK_AFTERWORDS = (" lol", " haha", " tbh", " honestly", " :)", " lmao", "!", " ugh", " xx", " hehe")
EXTRA_CHATTER = 0.05  # ... and as `chatter` (small talk)
EXTRA_CHATTY_FACTS = 0.03  # ... and as `chatty_statement`s (a fact with chatter before or after it)
EXTRA_TALK = 0.02  # ... and as `hard_talk`s
EXTRA_FORGETS = 0.03  # ... and as `hard_forget`s
EXTRA_QUESTIONS = 0.03  # ... and as `hard_question`s
CASUAL = 0.4  # chance a line is typed in lower case without its final stop
TEXTED = 0.1  # chance a line is typed as a text message ("u", "ur", "pls", "wanna")
TEXTING = ((r"\byou\b", "u"), (r"\byour\b", "ur"), (r"\byou're\b", "ur"), (r"\bplease\b", "pls"),
           (r"\bwant to\b", "wanna"), (r"\bgoing to\b", "gonna"), (r"\bare\b", "r"), (r"\bthanks\b", "thx"))
TYPO = 0.15  # chance a line has one typo


def turn_examples(data: Path, count: int, seed: int, split: str = "train") -> list[TurnExample]:
    """`count` labelled turns of every kind, drawn with `seed` from the training parts of the corpora."""
    rng = random.Random(f"turns:{split}:{seed}")
    pool = _Pool.read(data, split)
    share = {"statement": 0.34, "remember": 0.08, "question": 0.26, "forget": 0.13, "list": 0.04,
             "small_talk": 0.11, "help": 0.02, "exit": 0.02}
    out = []
    for kind, part in share.items():
        make = getattr(pool, kind)
        out += [_opened(make(rng), rng) for _ in range(max(1, round(count * part)))]
    extra = random.Random(f"turns-extra:{split}:{seed}")  # its own draws: the lines above stay as they were
    out += [_opened(pool.hard_statement(extra), extra) for _ in range(round(count * EXTRA_STATEMENTS))]
    out += [_opened(pool.hard_forget(extra), extra) for _ in range(round(count * EXTRA_FORGETS))]
    out += [pool.hard_question(extra) for _ in range(round(count * EXTRA_QUESTIONS))]
    asked = random.Random(f"turns-asked:{split}:{seed}")  # added later still: again its own draws
    out += [pool.request_question(asked) for _ in range(round(count * EXTRA_QUESTIONS))]
    out += [pool.hard_talk(asked) for _ in range(round(count * EXTRA_TALK))]
    chatty = random.Random(f"turns-chatter:{split}:{seed}")  # added later still: again its own draws
    out += [_opened(chatter(chatty), chatty) for _ in range(round(count * EXTRA_CHATTER))]
    out += [_opened(pool.chatty_statement(chatty), chatty) for _ in range(round(count * EXTRA_CHATTY_FACTS))]
    rng.shuffle(out)
    return out


@dataclass
class _Pool:
    facts: list[str]  # sentences a user could tell (persona, DailyDialog informs, SQuAD, catalogue)
    questions: list[str]
    talk: list[str]
    topics: list[str]  # what the catalogue's facts are about, as a user names it ("my car")
    names: list[str]  # people's names (the catalogue's)

    @classmethod
    def read(cls, data: Path, split: str) -> _Pool:
        book = catalogue("train" if split == "train" else "eval")
        told = [render(random.Random(i).choice(r.statements + r.updates),
                       {s: random.Random(i + 7).choice(book.values[k]) for s, k in r.slots.items()})
                for i, r in enumerate(book.relations * 40)]
        asked = [q for r in book.relations for qs in r.questions.values() for q in qs]
        dd = dailydialog(data, split)
        informs = [u.text for u in dd if u.act in ("inform", "commissive") and not _addresses_you(u.text)
                   and 4 <= len(u.text.split()) <= 30 and not u.text.endswith("?")]
        dd_questions = [u.text for u in dd if u.act == "question" and u.text.endswith("?")
                        and not _addresses_you(u.text) and len(u.text.split()) <= 20]
        phatic = [u.text for u in dd if u.first and len(u.text.split()) <= 4] + \
                 [u.text for u in dd if u.act != "question" and _addresses_you(u.text) and len(u.text.split()) <= 12] + \
                 [u.text for u in dd if u.act == "question" and _addresses_you(u.text) and len(u.text.split()) <= 5] + \
                 [u.text for u in dd if u.emotion not in ("no emotion", "") and len(u.text.split()) <= 5
                  and not _FIRST_PERSON.search(u.text) and u.act != "question"]
        train_articles, _ = squad_split(data)
        squad_questions = [q.question for a in train_articles for p in a.paragraphs for q in p.qas]
        squad_sentences = [p.context[a:b] for art in train_articles for p in art.paragraphs[:3]
                           for a, b in sentence_spans(p.context) if len(p.context[a:b].split()) <= 30]
        talk = sorted({line for pair in small_talk_pairs("train") for line in pair if len(line.split()) <= 8})
        persona = list(persona_sentences(data))
        names = [n for n in book.values["names"]]
        people = [_third_person(p, random.Random(i).choice(names)) for i, p in enumerate(persona)]
        lists = [_listed(random.Random(i), book) for i in range(3000)]
        facts = persona * 2 + [p for p in people if p] + lists + informs + told + squad_sentences[:6000]
        short = [q for q in [*squad_questions, *dd_questions] if len(q.split()) <= 6]  # "Who runs QA?"
        questions = squad_questions + list(dream_questions(data, "train"))[:3000] + dd_questions + asked * 3 + short * 4
        return cls(facts, questions, list(SMALL_TALK) * 20 + talk + phatic[:3000], sorted({r.topic for r in book.relations}),
                   names)

    def statement(self, rng: random.Random) -> TurnExample:
        parts = [rng.choice(self.facts) for _ in range(rng.choice((1, 1, 1, 2, 2, 3)))]
        before = rng.choice(NEWS) if rng.random() < 0.15 else rng.choice(FILLER_BEFORE) if rng.random() < 0.3 else ""
        return _compose("statement", before, parts, rng)

    def hard_statement(self, rng: random.Random) -> TurnExample:
        """Statements the first draws taught badly: a titled name ("Her GP is Dr. Lindqvist.": the stop
        after a title ends no fact), a remark after the fact (", ugh": filler), a fact in lower case
        without "I" ("the doctor changed the warfarin to 4mg": a statement, not a question)."""
        role = rng.random()
        if role < 0.4:
            name = f"{rng.choice(TITLES)} {rng.choice(self.names)}"
            facts = [rng.choice(TITLED).format(n=name)]
            if rng.random() < 0.5:
                facts.insert(rng.randrange(2), rng.choice(self.facts))
            return _compose("statement", "", facts, rng)
        if role < 0.7:
            told = _compose("statement", "", [rng.choice(self.facts)], rng)
            text = told.text.rstrip(".") + rng.choice(REMARKS)
            return TurnExample(text, "statement", told.spans)
        fact = rng.choice(self.facts)
        return _compose("statement", "", [fact[:1].lower() + fact[1:]], random.Random(rng.random()))

    def hard_question(self, rng: random.Random) -> TurnExample:
        """A question typed in a hurry: lower case, no question mark, often short and contracted ("how much is
        a piano lesson", "whats the wifi password")."""
        text = _contracted(rng.choice(self.questions), rng).strip().rstrip("?").strip()
        return TurnExample(text[:1].lower() + text[1:] if rng.random() < 0.8 else text.lower(), "question")

    def request_question(self, rng: random.Random) -> TurnExample:
        """A question put as a request for something remembered ("tell me my favourite drink", "the gate code
        again?"), a question though no question word starts it."""
        target = rng.choice(self.topics) if rng.random() < 0.5 else rng.choice(ASKED_FOR)
        text = rng.choice(ASK_FRAMES).format(t=target)
        if rng.random() < 0.5:  # "Tell me my favourite drink."
            text = text[:1].upper() + text[1:] + ("" if text.endswith("?") else rng.choice((".", "", "!", "?")))
        return TurnExample(_typed(text, rng), "question")

    def hard_talk(self, rng: random.Random) -> TurnExample:
        """Small talk addressed to the assistant, a question mark and all ("how's your day going?"): it
        asks nothing of memory."""
        text = rng.choice(TALK_TO_YOU)
        if not text.endswith("?") and rng.random() < 0.6:
            text += "?"
        return TurnExample(_typed(text, rng), "small_talk")

    def chatty_statement(self, rng: random.Random) -> TurnExample:
        """A fact with chatter before it ("morning! ...") or after it ("..., thanks!"): only the fact is told."""
        talk = _chatter_text(rng)
        joiner = rng.choice(TALK_JOINERS)
        if rng.random() < 0.5:
            return _compose("statement", talk.rstrip(".!") + joiner, [rng.choice(self.facts)], rng)
        told = _compose("statement", "", [rng.choice(self.facts)], rng)
        return TurnExample(told.text.rstrip(".") + joiner + _typed(talk, rng, final=False), "statement", told.spans)

    def hard_forget(self, rng: random.Random) -> TurnExample:
        """Forget requests the first draws taught badly: the reason first, naming what to forget, and the
        request after it pointing back ("the gym plan fell through, you can wipe that"), or a request
        to keep something out ("i'd rather you didn't hold on to my old address")."""
        target = rng.choice(FORGET_TOPICS) if rng.random() < 0.7 else rng.choice(self.topics)
        if rng.random() < 0.6:
            before, after = rng.choice(REASONS_FIRST).split("{t}")
            after += rng.choice(POINTING_JOINERS) + rng.choice(POINTING_BACK)
        else:
            before, after = rng.choice(KEEP_OUT).split("{t}")
        if rng.random() < 0.2:
            before = rng.choice(("actually ", "on second thought, ", "hmm, ", "ok so ", "oh and ")) + before
        return _framed("forget", _typed(before, rng, final=False), _typed(target, rng, final=False),
                       _typed(after, rng, final=False) if after.strip() else after)

    def remember(self, rng: random.Random) -> TurnExample:
        before = (rng.choice(FILLER_BEFORE) if rng.random() < 0.2 else "") + rng.choice(REMEMBER)
        return _compose("remember", before, [rng.choice(self.facts)], rng)

    def question(self, rng: random.Random) -> TurnExample:
        text = _contracted(rng.choice(self.questions), rng)
        if rng.random() < 0.2:
            text = rng.choice(QUESTION_OPENERS) + text[:1].lower() + text[1:]
        return TurnExample(_typed(text, rng), "question")

    def forget(self, rng: random.Random) -> TurnExample:
        frame = rng.choice(FORGET)
        if rng.random() < 0.6:
            target = rng.choice(FORGET_TOPICS)
        elif rng.random() < 0.5:
            target = "that " + _bare(rng.choice(self.facts))
        else:
            target = rng.choice(self.topics)  # "my sister", "my favourite food"
        before, after = frame.split("{t}")
        if rng.random() < 0.3:
            after = after.rstrip("?") + rng.choice(FORGET_REASONS)
        return _framed("forget", _typed(before, rng, final=False), _typed(target, rng, final=False), after)

    def list(self, rng: random.Random) -> TurnExample:
        return TurnExample(_typed(rng.choice(LIST) + rng.choice(("?", "", "?", ".")), rng), "list")

    def small_talk(self, rng: random.Random) -> TurnExample:
        text = rng.choice(self.talk)
        if rng.random() < 0.3:
            text = text.rstrip(".!") + rng.choice(TALK_JOINERS) + rng.choice(TALK_AFTER)
        return TurnExample(_typed(text, rng), "small_talk")

    def help(self, rng: random.Random) -> TurnExample:
        return TurnExample(rng.choice(HELP) if rng.random() < 0.6 else _typed(rng.choice(HELP), rng), "help")

    def exit(self, rng: random.Random) -> TurnExample:
        return TurnExample(rng.choice(EXIT) if rng.random() < 0.6 else _typed(rng.choice(EXIT), rng), "exit")


def chatter(rng: random.Random) -> TurnExample:
    """Small talk of one or two pieces of chatter ("thanks, that's a massive help", "ugh mondays are the worst
    tbh", "ok that's everything, off to bed")."""
    return TurnExample(_chatter_text(rng), "small_talk")


def _chatter_text(rng: random.Random) -> str:
    def piece() -> str:
        group = rng.choice((THANKS, PRAISE, WRAP_UP, LUCK, LEAVING, FEELINGS, GRUMBLES, SMALL_TALK))
        text = rng.choice(group)
        return text.format(t=rng.choice(GRUMBLED)) if "{t}" in text else text
    text = piece()
    if rng.random() < 0.5:
        text = text.rstrip(".!") + rng.choice(TALK_JOINERS) + piece()
    if rng.random() < 0.3:
        text += rng.choice(TALK_AFTERWORDS)
    return _typed(text, rng)


def _opened(example: TurnExample, rng: random.Random) -> TurnExample:
    """Most lines open with a capital, whatever wraps the fact ("Actually, ...", "Oh and ...")."""
    text = example.text
    if text[:1].islower() and rng.random() < 0.5:
        return TurnExample(text[:1].upper() + text[1:], example.kind, example.spans)
    return example


def _compose(kind: str, before: str, facts: Sequence[str], rng: random.Random) -> TurnExample:
    """A turn of `facts` joined as people join them, with `before` in front and maybe filler after; the
    spans cover each fact (its own final stop aside)."""
    casual = rng.random() < CASUAL
    text, spans = before if not casual else before.lower(), []
    for i, fact in enumerate(facts):
        fact = _typed(fact, rng, casual=casual, final=False)
        if i:
            text += rng.choice(JOINERS)
        spans += [(len(text) + a, len(text) + b) for a, b in _sentences(fact)]  # one fact a sentence
        text += fact
    text += rng.choice(FILLER_AFTER) if rng.random() < 0.15 else ("" if casual else ".")
    return TurnExample(text, kind, tuple(spans))


def _sentences(text: str) -> list[tuple[int, int]]:
    """Each sentence of a text told at once, without its final stop ("Yes. I have a cat." -> two)."""
    out, start = [], 0
    for m in re.finditer(r"[.!?;]+(?:\s+|$)", text):
        if text[m.start()] == "." and ends_in_abbreviation(text[:m.start()].rstrip() + "."):
            continue  # "Dr. Lindqvist": the stop of a title ends no sentence
        if text[start:m.start()].strip():
            out.append((start, m.start()))
        start = m.end()
    if text[start:].strip():
        out.append((start, len(text.rstrip())))
    return out


def _framed(kind: str, before: str, target: str, after: str) -> TurnExample:
    return TurnExample(before + target + after, kind, ((len(before), len(before) + len(target)),))


def _typed(text: str, rng: random.Random, casual: bool | None = None, final: bool = True) -> str:
    """A line as people type it: sometimes lower case without apostrophes or a final stop, sometimes with
    a typo (two letters swapped)."""
    lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()):]
    text = text.strip()
    if casual is None:
        casual = rng.random() < CASUAL
    if casual:
        text = text.lower()
        if rng.random() < 0.5:
            text = text.replace("'", "")
    if rng.random() < TEXTED:
        for pattern, short in TEXTING:
            text = re.sub(pattern, short, text)
    if casual or not final:
        text = text.rstrip(".!") if not text.endswith("?") or rng.random() < 0.5 else text
        text = text.rstrip("?") if casual and rng.random() < 0.4 else text
    if rng.random() < TYPO:
        words = text.split(" ")
        long = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
        if long:
            i = rng.choice(long)
            j = rng.randrange(len(words[i]) - 1)
            w = words[i]
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
            text = " ".join(words)
    return lead + text + trail


_CONTRACTIONS = ((r"\b([Ww]hat|[Ww]here|[Ww]hen|[Ww]ho|[Hh]ow) is\b", (r"\1's", r"\1s")),
                 (r"\b([Ww]hat|[Ww]here|[Ww]hen|[Ww]ho|[Hh]ow) are\b", (r"\1're", r"\1 r")),
                 (r"\b([Ww]hat|[Ww]here|[Ww]hen|[Ww]ho|[Hh]ow) did\b", (r"\1'd", r"\1 did")))


def _contracted(question: str, rng: random.Random) -> str:
    """A question as people type it fast: "What is the" -> "what's the" / "whats the"."""
    if rng.random() < 0.35:
        for pattern, forms in _CONTRACTIONS:
            question = re.sub(pattern, rng.choice(forms), question, count=1)
    return question


LIST_NAMES = ("shopping list", "packing list", "to do", "todo list", "grocery list", "ingredients", "setlist",
              "reading list", "guest list", "chores", "things to bring", "wishlist", "christmas list")
LIST_VALUES = ("foods", "drinks", "hobbies", "instruments", "books", "films", "colours", "sports", "names")


def _listed(rng: random.Random, book) -> str:
    """A list as people note it: "packing list: charger, passport and sunglasses" (the label is part of
    the fact)."""
    items = rng.sample(book.values[rng.choice(LIST_VALUES)], rng.randint(2, 5))
    joined = ", ".join(items[:-1]) + rng.choice((" and ", ", ", " & ")) + items[-1]
    return rng.choice(("{l}: {i}", "{l} - {i}", "for the {l}: {i}", "{l} is {i}", "add {i} to the {l}")).format(
        l=rng.choice(LIST_NAMES), i=joined)


def _third_person(sentence: str, name: str) -> str | None:
    """A persona sentence told about someone else ("i have a dog." -> "Tom has a dog."), or None when its
    opening is not a simple "i"/"my"."""
    words = sentence.strip().split()
    if len(words) < 3:
        return None
    first, verb = words[0].lower(), words[1].lower()
    if first == "my":
        return " ".join([f"{name}'s", *words[1:]])
    if first != "i":
        return None
    third = {"am": "is", "have": "has", "do": "does", "was": "was", "go": "goes"}.get(verb)
    if third is None and verb.isalpha() and not verb.endswith("s"):
        third = verb + ("es" if verb.endswith(("sh", "ch", "x", "o")) else "s")
    return " ".join([name, third, *words[2:]]) if third else None


def _bare(fact: str) -> str:
    return fact.strip().rstrip(".!?")[:1].lower() + fact.strip().rstrip(".!?")[1:]


_FIRST_PERSON = re.compile(r"\b(i|i'm|my|we|our|i've|i'll)\b", re.I)
_YOU = re.compile(r"\b(you|your|you're|yours)\b", re.I)


def _addresses_you(text: str) -> bool:
    """A DailyDialog question put to the other speaker ("How are you?"): small talk to an assistant."""
    return bool(_YOU.search(text))


__all__ = ["KINDS", "TurnExample", "turn_examples"]
