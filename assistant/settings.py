"""The assistant's settings: one frozen dataclass, each default with the reason for it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .chatter import ChatterConfig


@dataclass(frozen=True)
class AssistantConfig:
    window: int = 6  # recent lines (user and bot) kept as short-term memory
    memory_k: int = 5  # facts read from long-term memory per turn
    reader_k: int = 8  # ... and per question, with the memory reader (it was trained to read up to 8)
    chatter: ChatterConfig = ChatterConfig()  # how small talk finds its reply in the chatter bank
    # A question's nearest fact at least this similar answers it even when the answer finder doubts it
    # (without a finder: is quoted, "You told me that ...", when the generated reply leaves it out). On
    # train-split conversations 66 % of asked facts reach 0.45 and 2 % of the nearest facts to questions
    # about something never told do. None: only the finder (or the generator) picks the answer.
    quote_above: float | None = 0.45
    # ... and one at least this similar where the word rules find the same kind of thing in both ("what is my
    # job" and "I work as an accountant at Deloitte.", which the finder takes for the employer). None: never.
    same_words_above: float | None = 0.3
    # "Forget everything about my employer" rarely reaches the store's own match threshold (0.45): when
    # nothing matches, the nearest fact at least this similar is forgotten (and named in the reply, so it
    # can be restored). On train-split conversations that is the right fact 91 % of the time.
    forget_nearest_above: float | None = 0.2
    min_similarity: float = 0.2  # facts less similar to the turn than this are not read
    update_candidates: int = 3  # nearest facts checked for being replaced by a new statement
    used_attention: float = 0.2  # copy-pointer mass on a fact's words at some step above which it was used
    consolidate: Literal["at_once", "end_of_session"] = "at_once"  # when plain statements are stored
    beam: int = 1  # 1 = greedy decoding
    no_repeat: int = 3  # greedy decoding never says an n-gram of this length twice in a reply (0 = allowed)
    # A statement about the same relation of the catalogue as one of its nearest facts (by the answer
    # finder, at least this probable) updates it, as the update detector's own choice does; the same
    # vetoes apply (someone else, the same fact again, "also"). None: the update detector alone.
    same_relation_updates: float | None = 0.5
    # How many of a statement's nearest facts that rule weighs (the detector: `update_candidates`): a fact
    # about the same relation can be far in the embedding space ("My degree is in medicine." and "Back in
    # my student days I studied fine art.").
    same_relation_candidates: int = 10
    # A statement never updates a fact the finder places surely (P >= this, each) in another relation than
    # the statement: it overrules the update detector's false alarms across relations (a detector trained
    # without a quarter of the phrasings took "I work at Unilever." for news on "My degree is in medicine,
    # from a university in Danang."). None: no veto.
    apart_above: float | None = 0.9
    # A statement the user marks as news ("Actually, ...", "That has changed.", "Please update your notes,
    # ...") updates the likeliest of its candidates even when no model reaches its own threshold, if the
    # update detector's or the finder's same-relation probability reaches this (the vetoes still apply).
    # None: the marker counts for nothing.
    marked_updates: float | None = 0.1
    # ... but never a fact the finder places in another relation than the statement at least this surely
    # (each): "Actually, I love hiking." (a hobby, 0.58) is no news on "My favourite food is porridge.".
    marked_apart_above: float = 0.5
    # A forget request is read against this many of its nearest memories by the memory reader ...
    forget_candidates: int = 8
    # ... which forgets the memory it chooses and every other that, read alone against "none", it finds
    # named at least this surely ("everything about my old flatmate").
    forget_sure: float = 0.8
    # ... and that, read among the others, is at least this share as likely as the chosen one: read alone, a
    # memory often seems named ("scrap the bit about janet" forgot three memories about other people). On
    # conversations 01-84 (the fine-tuned reader), 0 / 0.1 / 0.3 forgot 19 / 10 / 9 memories no request
    # named, carrying out 81.2 % of the requests each; never forgetting a second memory, 8 and 80.0 %. (Measured
    # with a reader fine-tuned on the written conversations, before the shipped one was trained.)
    forget_share: float = 0.3
    # With the memory reader, a statement updates a memory only when the reader, reading the statement
    # against the candidates, points at the one the update models chose: both answer the same questions.
    reader_updates: bool = True
    # ... and the reader alone updates a candidate it gives at least this probability (None: never alone:
    # the reader only vetoes, since it reads a statement as if it were a question).
    reader_updates_above: float | None = None
    # The memories the reader finds at least this share as likely as its choice are versions of one answer
    # (an old value and its correction, both kept): they count together against "none" and the threshold,
    # since they share the reader's probability that the question is answered and neither alone may reach
    # it; of them, the newest is the answer (an update the models missed leaves the older one as history).
    # 0.6 before pooling; pooled, 0.3 and 0.45 tied or won on conversations 01-52 and on templated ones.
    newer_share: float = 0.3
    # ... and only memories at least this similar to the likeliest (cosine of their embeddings) are versions
    # of it (None: any memory likely enough is). Corrections and what they correct were 0.32-0.78 similar,
    # two facts of one topic pooled into a leak 0.08-0.69; on conversations 01-52, None / 0.4 / 0.5 leaked
    # 50.9 / 47.2 / 45.4 % and answered 51.9 / 51.9 / 46.2 % of updates.
    pooled_similarity: float | None = 0.4
    # A question's answer is the memory the reader finds more probable than "none" and at least this
    # probable, with its versions (above); None: the threshold saved with the reader (chosen for the best F1
    # on its development examples). 0.65 is the fifth release's saved threshold, kept (the shipped reader
    # saved 0.6). A first training of the sixth release saved 0.45, its development examples holding copies
    # of its training questions: on conversations 01-84 it answered 79.2 % of told questions for 41.0 %
    # never-told leaks at 0.45, against 75.7 and 31.7 % at 0.65 (0.7 and 0.8 gave up told facts on
    # conversations 01-52 for few fewer leaks).
    reader_threshold: float | None = 0.65
    # The reader confirms an update only at least this surely: a wrong retirement is worse than a missed one,
    # and a missed one costs little when the newer of two memories is the answer (on conversations 01-52,
    # 0.5 / 0.8 / 0.95 retired 19 / 11 / 4 true memories; pooled, the updates answered stayed 50 / 54 / 50 %).
    # On all 78 conversations, 0.95 / 0.99 / 0.995 / never retired 12 / 4 / 3 / 0 true memories and 11 / 8 / 6 / 0
    # of the 105 corrected ones, with the updates answered at 39.4 / 39.4 / 39.4 / 38.5 %; the templated set's
    # updates (`memchat eval recall`) fell from 81.7 to 76.9 % at 0.99.
    reader_update_threshold: float | None = 0.99
    # A statement the update models would have retired a memory by, where the reader, reading the statement as a
    # question over the memories it may update, points at that memory at least this surely but not surely
    # enough to retire it (`reader_update_threshold`), is stored as a newer version of it (`Fact.follows`; None:
    # never): both stay, and a question the older one answers is answered by the newer. A wrong link misanswers
    # that question (and a forget request that names one of the two takes both) but retires nothing, so it may
    # be far less sure than a retirement. On the development
    # conversations (lab/training_conversations t101-t150, never trained on), 0.5 answered 53 corrected values
    # of 112 (44 without links) for 240 told of 367 (243): README, seventh release.
    version_above: float | None = 0.5
    # ... and a statement the reader alone points at an older memory with, at least this surely (None: never):
    # read alone, it links additions too ("marcus is on a phased return too" to "Dev's on a phased return"); at 0.5
    # beside the above, the development conversations lost 5 told answers for 3 corrected ones.
    version_alone_above: float | None = None
    # The turn model must be at least this sure of an "exit" to end the chat; below, the line is taken as
    # its next most likely kind ("end of story, she quit" is a statement). A forget request is acted on as
    # the model says: the reader (or the word rules) must still find what it names.
    sure_to_act: float = 0.9
    # A word of a statement is left out of the facts stored (filler: "oh and", "lol") only when the turn model
    # gives "outside every fact" at least this probability; else it stays in the fact (None: the model's likeliest
    # tag). Losing a word the user told costs more than keeping a filler word: at 0.9 the turn model's
    # development turns lose 0.06 % of their facts' characters (0.56 % by likeliest tag) and keep 0.63 % extra.
    drop_filler_above: float | None = 0.9
    # A statement's next fact begins only where the turn model gives "begins a fact" at least this probability;
    # else the words go on with the fact before them (None: wherever "begins" is likelier than "goes on"). A fact
    # cut from its subject ("mrs. Albright, $40 a lesson") answers nothing: on all 78 conversations None / 0.8 /
    # 0.9 / 0.95 answered 66.4 / 68.4 / 69.3 / 69.8 % of told facts, for leaks of 42.5 / 45.2 / 45.2 / 44.6 %.
    split_facts_above: float | None = 0.95
    # When the reader finds no memory that answers, the answer finder's likeliest fact answers if the
    # finder gives it at least this (None: the reader alone decides).
    finder_backs_reader_above: float | None = 0.9
