"""Rules that decide what a statement is about and when it updates a remembered fact; the user's relatives
and their names (`kin`); where one statement holds several facts (`clauses`)."""

from __future__ import annotations

import pytest

from assistant.clauses import clauses
from assistant.consolidation import (about, about_someone_else, adds, asks_another_thing, asks_another_thing_about_them,
                                     kinds_of, names_same_person, relation_of, replaces, same_kind_of_thing, speaks_of,
                                     subject_of, tells, without_update_marker)
from assistant.kin import kin_names, may_name_someone, names_asked, names_given, people_of, with_kin


@pytest.mark.parametrize("text, subject", [
    ("My sister Ana moved to Lisbon.", "sister"),
    ("Ana, my sister, lives in Lisbon", "sister"),
    ("I live in Lisbon.", "i"),
    ("My best friend Tom is a pilot.", "best friend"),
    ("my favourite colour is green", "favourite colour"),
    ("My own car is a Volvo.", "car"),
    ("The weather is nice.", None),
])
def test_the_subject_is_who_or_what_the_statement_is_about(text, subject):
    assert subject_of(text) == subject


def test_the_relation_comes_from_the_first_word_that_signals_one():
    assert relation_of("I moved to Porto.") == "home"
    assert relation_of("I work from home.") == "work"
    assert relation_of("My sister is called Ana.") == "name"
    assert relation_of("Nice weather today.") is None


@pytest.mark.parametrize("new, old, similarity, expected", [
    ("I moved to Porto.", "I live in Lisbon.", 0.45, True),
    ("My sister now lives in Rome.", "My sister Ana lives in Lisbon.", 0.8, True),
    ("My brother lives in Rome.", "My sister lives in Lisbon.", 0.8, False),  # another person
    ("My sister works at Google.", "My sister lives in Lisbon.", 0.7, False),  # another kind of fact
    ("I live in Lisbon.", "I live in Lisbon", 0.99, False),  # said again: not an update
    ("My cat is grey.", "My cat is black.", 0.8, True),  # no relation word: close meaning decides
    ("My cat is grey.", "My cat sleeps a lot.", 0.4, False),
    ("My car needs new tyres.", "My car is a red Volvo.", 0.5, False),
    ("I'm 91, believe it or not.", "I'm 79, believe it or not.", 0.81, True),  # a changed number is news  # "car" names the subject, not a relation
])
def test_a_statement_replaces_a_fact_on_the_same_subject_and_relation(new, old, similarity, expected):
    assert replaces(new, old, similarity) is expected


def test_update_markers_are_stripped_and_reported():
    assert without_update_marker("Actually, my sister lives in Rome.") == ("My sister lives in Rome.", True)
    assert without_update_marker("Correction: I live in Porto.") == ("I live in Porto.", True)
    assert without_update_marker("My sister lives in Rome.") == ("My sister lives in Rome.", False)
    assert without_update_marker("no wait, I live in Hamburg") == ("I live in Hamburg", True)
    assert without_update_marker("Sorry, I meant I live in Rome.") == ("I live in Rome.", True)
    assert without_update_marker("Sorry, I'm tired.") == ("Sorry, I'm tired.", False)  # an apology is no news
    assert about("Actually, I moved to Porto.").relation == "home"


def test_people_are_named_by_kin_words_and_their_synonyms():
    assert people_of("Where's my mum based?") == people_of("Bakari, my mother, lives in Puebla.") == {"mother"}
    assert people_of("My best friend's dog is Rex.") == {"best friend"}
    assert people_of("I live in Lisbon.") == set()


@pytest.mark.parametrize("question, fact, other", [
    ("Where is my partner living these days?", "The home of my father Leilani is in Linz.", True),
    ("Where does my mom live?", "My mother Ana lives in Rome.", False),
    ("Where do I live?", "My sister Ana lives in Rome.", True),  # the question is about you, the fact is not
    ("Where does my sister live?", "I live in Porto.", True),  # a question about her, a fact about you
    ("Where does my sister live?", "The flat in Porto is lovely.", False),  # the fact names no one
    ("Does my sister's husband like tea?", "My sister Ana lives in Rome.", False),
    ("Where does my brother Sam live?", "My brother Tom lives in Rome.", True),  # another brother
    ("Where does my brother live?", "My brother Tom lives in Rome.", False),
    ("Where does Tom, my brother, live?", "My brother Tom lives in Rome.", False),
    ("What's my dog's name?", "I have a cat named Whiskers.", True),  # another animal
    ("What are my dogs called?", "My dog is called Rex.", False),
    ("What's my pet called?", "I have a hermit crab named Sid.", False),  # the question names no animal
    ("What food do I hate?", "Nothing beats halloumi for me.", True),  # a dislike is not a liking
    ("What's my favourite food?", "I can't stand mushrooms.", True),
    ("Which food don't I like?", "I can't stand mushrooms.", False),
    ("What food do I hate?", "I live in Porto.", False),
    ("When is my birthday?", "My girlfriend's birthday is July 12.", True),
    ("Where does my friend Sam live?", "My friend Ben lives in Leeds.", True),
    ("What food do I not like?", "I hate olives.", False),
    ("What's my favourite fruit?", "I don't like apples, mangoes are my favourite fruit.", False),  # says both
    ("Who is my best friend?", "My best friend Tom hates cats.", False),  # a best friend is no liking
    ("whats the name of my cat", "we have a golden retriever named max", True),  # a breed is its kind
    ("What's my dog called?", "we have a golden retriever named max", False),
    ("what color is my car", "i've got a blue bicycle", True),  # vehicles too
    ("what is my favorite movie?", "my favorite book is Dune", True),  # and what a favourite is
    ("whats my favorite drink", "my favourite food is sushi", True),
    ("Tell me my favourite book.", "My favourite novel is Dune.", False),
    ("Forget that my sister lives in Lisbon.", "i live in lisbon too", True),  # a relative vs you
    ("whats my brothers name", "my dads name is robert", True),  # kin words without the apostrophe
])
def test_a_fact_about_someone_else(question, fact, other):
    assert about_someone_else(question, fact) is other


@pytest.mark.parametrize("line, said", [
    ("Ok, I've forgotten that bakari, your mother, lives in Puebla.", True),
    ("Something you should know about me: Bakari, my mother, lives in Puebla.", True),
    ("Where does my mother live?", False),
    ("My father lives in Puebla.", True),  # names one of its places: out of the window too (the cautious side)
    ("Ok, I'll remember that.", False),
])
def test_a_line_mentions_a_fact_when_it_holds_its_names_and_values(line, said):
    assert speaks_of(line, "Bakari, my mother, lives in Puebla.") is said


def test_a_fact_typed_in_lower_case_is_mentioned_by_half_its_distinctive_words_or_a_number():
    assert speaks_of("ok, your dog is called rex", "my dog is called rex")
    assert speaks_of("Your partner dreidail lives in kaunas.", "my partner, dreidail, has a flat in kaunas")
    assert not speaks_of("I like cats.", "my dog is called rex")
    assert speaks_of("Your lucky number is 51.", "i think 51 is lucky for me")
    assert not speaks_of("Your lucky number is 15.", "i think 51 is lucky for me")


@pytest.mark.parametrize("reply, fact, question, told", [
    ("Your favourite drink is iced tea.", "Iced tea is my favourite drink.", "What do I drink?", True),
    ("Your favourite drink is Iced.", "Iced tea is my favourite drink.", "What do I drink?", False),  # broken off
    ("Your contact number lives in 277 507.", "My contact number is 0771 277 507.", "What's my number?", False),
    ("Your mother Bakari lives in Puebla.", "Bakari, my mother, lives in Puebla.", "Who is my mother?", True),
    ("It is Puebla.", "Bakari, my mother, lives in Puebla.", "Where does my mother Bakari live?", True),  # asked
])
def test_a_reply_tells_a_fact_only_with_all_its_distinctive_words(reply, fact, question, told):
    assert tells(reply, fact, question) is told


def test_a_question_and_a_fact_name_the_same_person_by_any_kin_word():
    assert names_same_person("Who is my mum?", "Ana, my mother, lives in Lisbon.")
    assert not names_same_person("Who is my aunt?", "Ana, my mother, lives in Lisbon.")
    assert not names_same_person("Where do I live?", "I live in Lisbon.")


@pytest.mark.parametrize("reply, fact, question, added", [
    ("Your boss is Tim years old.", "My boss is called Tim.", "Who is my boss?", {"years", "old"}),
    ("Your boss is called Tim.", "My boss is called Tim.", "Who is my boss?", set()),
    ("Your sister Ana lived in Lisbon.", "My sister Ana lives in Lisbon.", "Where does my sister live?", set()),
    ("Your number is 0771 277 507.", "My contact number is 0771 277 507.", "What's my number?", set()),
    ("You drive a red Fiat.", "My car is a red Fiat.", "What do I drive?", set()),
    ("Your mother is 60.", "My mom is 60.", "How old is my mum?", set()),  # kin synonyms are one word
    ("Your wife Sofia lives in What's.", "My wife is Sofia.", "What's my wife's name?", {"lives", "what's"}),
    ("Your brother Madrid lives in Madrid.", "My brother lives in Madrid.", "Where does my brother live?",
     {"madrid"}),  # a name said twice, told once
    ("Your partner Leonor lives in Manila.", "The home of my partner Leonor is in Manila.", "Where is my partner?",
     set()),  # "lives" frames a fact about a home, and only such a fact
])
def test_a_reply_adds_the_words_neither_the_fact_nor_the_question_holds(reply, fact, question, added):
    assert adds(reply, fact, question) == added


@pytest.mark.parametrize("fact, given", [
    ("My sister Ana moved to Lisbon.", {"ana": "sister"}),
    ("Bakari, my mother, lives in Puebla.", {"bakari": "mother"}),
    ("My mum's name is Bakari.", {"bakari": "mother"}),
    ("My brother is called Tom and he lives in Rome.", {"tom": "brother"}),
    ("Carla, my best friend, is from Lima.", {"carla": "best friend"}),
    ("Our son, Leo, is five.", {"leo": "son"}),
    ("My sister lives in Lisbon.", {}),  # Lisbon is no one's name
    ("My mum is a Nurse.", {}),
    ("My mum is Portuguese.", {}),  # a nationality or language is no name
    ("My dad is American and lives in Ohio.", {}),
    ("My wife is Sofia.", {"sofia": "wife"}),  # a capitalised word that ends the clause is
    ("My wife is Megan and she teaches maths.", {"megan": "wife"}),
    ("My boss is Tim Cook.", {"tim": "boss"}),
    ("My husband is Brian.", {"brian": "husband"}),
    ("My husband is Swiss.", {}),
    ("My older sister Clara lives in Vienna.", {"clara": "sister"}),
    ("My friend Ben is a chef.", {"ben": "friend"}),
    ("My mum is OK.", {}),
    ("I live in Lisbon with Ana.", {}),  # not said who she is
    ("Yesterday, my sister moved to Rome.", {}),  # an opening adverb is no name
    ("Yesterday, my sister Ana moved to Rome.", {"ana": "sister"}),
    ("Lisbon, my sister's city, is lovely.", {}),
    ("My sister Ana's dog is called Rex.", {"ana": "sister"}),
    ("I have a sister called Ana who lives in Rome.", {"ana": "sister"}),
    ("Ana is my sister and she lives in Rome.", {"ana": "sister"}),
    ("My uncle Bob, my aunt Sue, live here.", {"bob": "uncle", "sue": "aunt"}),
])
def test_the_names_a_fact_gives_relatives(fact, given):
    assert kin_names(fact) == given


def test_a_relative_named_by_name_alone_gets_the_kin_the_user_gave_them():
    known = {"ana": "sister", "carla": "best friend"}
    assert with_kin("Ana lives in Madrid now.", known) == "My sister Ana lives in Madrid now."
    assert with_kin("Where does Ana live?", known) == "Where does my sister Ana live?"
    assert people_of(with_kin("I had lunch with Carla.", known)) == {"best friend"}
    assert with_kin("My mother Ana is 60.", known) == "My mother Ana is 60."  # kin said: kept
    assert with_kin("I met Anabel in Lisbon.", known) == "I met Anabel in Lisbon."
    assert with_kin("the ana river is long", known) == "the ana river is long"  # a capital makes a name
    assert with_kin("Where is Ana's dog?", known) == "Where is my sister Ana's dog?"
    assert with_kin("My friend Ana moved.", known) == "My friend Ana moved."  # someone else's word for her
    will = {"will": "brother", "may": "daughter"}
    assert with_kin("Will I need a visa?", will) == "Will I need a visa?"  # capitals that open a question
    assert with_kin("May I ask you something?", will) == "May I ask you something?"
    assert with_kin("I visited May in Oslo.", will) == "I visited my daughter May in Oslo."


def test_two_brothers_by_name_never_replace_each_other_by_the_word_rules():
    assert not replaces("My brother Sam moved to Oslo.", "My brother Tom lives in Rome.", 0.7)
    assert replaces("My brother Tom moved to Oslo.", "My brother Tom lives in Rome.", 0.7)


@pytest.mark.parametrize("question, fact, another", [
    ("whats my mums name", "my mum lives in cardiff", True),
    ("What is my mother called?", "Bakari, my mother, lives in Puebla.", False),  # the fact names her too
    ("what does maria do", "My wife is called Maria and she is from Brazil.", True),
    ("Where do I live?", "I work in Berlin.", True),
    ("Where do I live?", "I moved to Porto for a job.", False),
    ("What's my job?", "I'm a nurse at the city hospital.", False),  # no word of either kind: not ruled out
])
def test_a_question_that_asks_another_kind_of_thing_than_a_fact_tells(question, fact, another):
    assert asks_another_thing(question, fact) is another


@pytest.mark.parametrize("question, fact, another", [
    ("where does my daughter work?", "My daughter Emma lives in Chicago.", True),
    ("where does my son live?", "My son works at Boeing.", True),
    ("Where is my grandfather living these days?", "My grandfather, Ondrej, has a flat in Lublin.", False),
    ("Remind me what my cousin is called.", "the home of my cousin aleksander is in riga", False),  # a name: asked
    ("Where do I work?", "I live in Porto.", False),  # not about a relative: the finder decides
    ("Where's my uncle based?", "My uncle Tom relocated to Graz.", False),  # no word the rules know
])
def test_a_question_about_a_relative_is_not_answered_by_another_kind_of_fact_about_them(question, fact, another):
    assert asks_another_thing_about_them(question, fact) is another


def test_a_question_and_a_fact_of_the_same_kind_of_thing_by_the_word_rules():
    assert same_kind_of_thing("what is my job", "I work as an accountant at Deloitte.")
    assert not same_kind_of_thing("Where do I live?", "I work in Berlin.")
    assert not same_kind_of_thing("What's my name?", "My dog is called Rex.")  # names: too common
    assert not same_kind_of_thing("What's my favourite food?", "I like tea.")  # likings too


def test_a_reply_that_drops_a_not_does_not_tell_the_fact():
    fact = "I'm not learning Japanese any more."
    assert not tells("You are learning Japanese.", fact)
    assert tells("You're not learning Japanese any more.", fact)


def test_the_kinds_of_animal_a_text_names():
    assert kinds_of("My dogs and a Hermit Crab, no cats.") == {"dog", "hermit crab", "cat"}
    assert kinds_of("my puppy, my bike and a golden retriever") == {"dog", "bicycle"}
    assert kinds_of("I catch the bus.") == set()  # only whole words


@pytest.mark.parametrize("statement, facts", [
    ("I'm Tom, I'm 34 years old.", ["I'm Tom.", "I'm 34 years old."]),
    ("I live in Porto and my wife is Sofia.", ["I live in Porto.", "My wife is Sofia."]),
    ("I work at Ikea; we live in Malmo", ["I work at Ikea.", "We live in Malmo."]),
    ("I live with my sister, my mum and my dog.", ["I live with my sister, my mum and my dog."]),  # no new verb
    ("Ana, my sister, lives in Rome.", ["Ana, my sister, lives in Rome."]),
    ("I have a cat and I love her.", ["I have a cat and I love her."]),  # points back: one fact
    ("I want to learn Thai, so I'm taking lessons.", ["I want to learn Thai, so I'm taking lessons."]),
    ("Yes, I have a dog.", ["Yes, I have a dog."]),
    ("If I could be an animal, I'd be a lion.", ["If I could be an animal, I'd be a lion."]),  # subordinate
    ("My wife and I live in Porto.", ["My wife and I live in Porto."]),  # "My wife" says nothing alone
    ("I live in Leeds, I think.", ["I live in Leeds, I think."]),  # a hedge is no fact
    ("Last year, I moved to Paris.", ["Last year, I moved to Paris."]),
    ("I'm Tom, I'm 34?", ["I'm Tom.", "I'm 34."]),
    ("When I was young, I lived in Goa.", ["When I was young, I lived in Goa."]),
    ("My brother Luke lives in Dublin and works as a chef.", ["My brother Luke lives in Dublin and works as a chef."]),
])
def test_a_statement_of_several_facts_is_split_into_them(statement, facts):
    assert clauses(statement) == facts


def test_a_question_asks_about_the_relatives_it_names_in_any_case():
    known = names_given(["My older sister Clara lives in Vienna.", "My younger sister Julia lives in Prague."])
    assert known == {"clara": "sister", "julia": "sister"}
    assert names_asked("where does julia live", known) == {"julia"}
    assert names_asked("Where's Clara's flat?", known) == {"clara"}
    assert names_asked("Where does my sister live?", known) == set()
    assert with_kin("julia moved to Rome", known) == "My sister julia moved to Rome"  # typed in lower case
    assert with_kin("will you help me?", {"will": "brother"}) == "will you help me?"  # an everyday word


def test_the_names_given_to_relatives_outlive_an_update_that_does_not_rename_them():
    old, news = "My sister Ana moved to Lisbon.", "My sister now lives in Berlin."
    assert names_given([news]) == {} and names_given([news], [(news, old)]) == {"ana": "sister"}
    assert names_given(["My sister is now Eva."], [("My sister is now Eva.", old)]) == {"eva": "sister"}
    assert names_given(["My aunt Ana lives in Rome.", old]) == {}  # one name, two relatives: neither
    assert may_name_someone("Where does Ana live?") and may_name_someone("Ana moved.")
    assert not may_name_someone("Where do I live?") and not may_name_someone("My sister moved.")
