"""The Dutch words the anonymisation decides with, in one place: calendar, tussenvoegsels, titles, endings.

The rules (:mod:`anonymisation.names`, :mod:`anonymisation.persons`), the name model's features
(:mod:`anonymisation.namemodel`), the recognizers and the surrogates (:mod:`anonymisation.operators`) read
their word lists from here. Where two of them use different lists for one kind of word, that is on purpose,
and the comment above each list says whose it is and how it differs; keep them apart when editing.

The name model's lists (``MODEL_*``) are frozen with the shipped model: its features read them, so a change
to one of them changes the model's input and needs a retrained model (and a new
:data:`anonymisation.namemodel.FEATURES_VERSION`). The synthetic training sentences draw from their own
lists in :mod:`anonymisation.training.wordlists` (their order is part of the seeded sample); of the lists
here they use :data:`MONTHS` and :data:`WEEKDAYS`.
"""

from __future__ import annotations

# --------------------------------------------------------------------------------------------------
# Calendar

#: Dutch month names in calendar order: surrogate dates write them, synthetic training sentences draw them
#: (the order is part of the seeded sample).
MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)

#: The usual abbreviations of :data:`MONTHS`, in calendar order ("mei" stays whole).
MONTH_ABBREVIATIONS = ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec")

#: Days of the week, Monday first.
WEEKDAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")

#: Months and days are capitalised in headings and never names (the name rules; with the abbreviations).
CALENDAR = frozenset((*MONTHS, *WEEKDAYS, *MONTH_ABBREVIATIONS))

#: Month abbreviations that are also given names (Jan, Sep): a name unless a day or year stands beside them.
CALENDAR_NAMES = frozenset("jan sep".split())

#: Month word -> number where surrogates read a written date: full names, abbreviations and spelling
#: variants ("febr", "sept", "oct").
DATE_MONTH_NUMBERS = (
    {name: i + 1 for i, name in enumerate(MONTHS)}
    | {name: i + 1 for i, name in enumerate(MONTH_ABBREVIATIONS)}
    | {"febr": 2, "mar": 3, "maa": 3, "sept": 9, "oct": 10}
)

#: Month word -> number for the date-of-birth recognizer, which looks a written month up by its first three
#: letters ("september" and "sept" by "sep"): the abbreviations and "maa".
BIRTH_MONTH_NUMBERS = {name: i + 1 for i, name in enumerate(MONTH_ABBREVIATIONS)} | {"maa": 3}

#: The months as the recognizers' date patterns match them (a regex alternation): full names first, then
#: abbreviations with the variants "febr" and "sept".
MONTH_PATTERN = "|".join(
    (*MONTHS, "jan", "feb", "febr", "mrt", "apr", "jun", "jul", "aug", "sep", "sept", "okt", "nov", "dec")
)

# --------------------------------------------------------------------------------------------------
# Tussenvoegsels and name particles. Three lists on purpose: the name rules' PARTICLES join parts of one
# name (also Arabic and German ones, "v/d"); the surrogates' TUSSENVOEGSELS are the words a surname keeps
# in front of it when it is replaced (with "aan", "uit", "des", "vd", no Arabic ones); the name model's
# MODEL_PARTICLES are frozen with the model (below).

#: Lowercase words that join parts of one name.
PARTICLES = frozenset(
    "van de der den het 't ten ter te in op la le du da di von zu del della dos das al el bin ibn mac "
    "vande vander vanden d' l' 's v/d v.d. v.d abu abou ould".split()
)

#: Arabic name elements ("father of", "son of", the article) that open a surname when capitalised.
ARABIC_PARTICLES = frozenset("abu abou bou ben bin ibn ould el al ait aït".split())

#: Tussenvoegsel sequences that may stand between two parts of one name (Jan van der Berg, Jan in 't Veld).
PARTICLE_SEQUENCES = frozenset(
    tuple(item.split())
    for item in (
        "van|van de|van der|van den|van het|van 't|van ter|de|den|der|ter|ten|in 't|in de|in den|in het|"
        "op de|op den|op 't|uit de|uit den|uit het|von|von der|von dem|zu|zur|du|da|de la|de los|del|della|"
        "dei|di|dos|das|do|le|la|al|el|bin|ibn|vande|vander|vanden|'t|'s|d'|l'|mac|mc|st.|ben|v/d|v.d.|v.d|"
        "abu|abou|ould"
    ).split("|")
)

#: Words in front of a surname that a surrogate keeps as its tussenvoegsel (``van der``, ``in 't``).
TUSSENVOEGSELS = frozenset(
    {"van", "de", "der", "den", "het", "'t", "’t", "ter", "ten", "te", "in", "op", "aan", "uit", "la", "le", "du"}
    | {"da", "di", "del", "des", "dos", "d'", "l'", "vd", "v.d."}
)

# --------------------------------------------------------------------------------------------------
# Titles, forms of address and roles. The name rules' TITLES and ADDRESS_FORMS are cues before a name; the
# surrogates' FEMALE_TITLES, MALE_TITLES and NEUTRAL_TITLES are kept in front of a replaced name (and tell
# the gender of the given name that replaces the original); the name model's MODEL_TITLE_CUES are frozen
# with the model.

#: Words before a name that make it one: forms of address, titles and roles (lowercase, no dot).
TITLES = frozenset(
    """
    mevrouw mevr mw mej mejuffrouw juffrouw meneer mijnheer heer dhr hr mr dr drs ir ing prof professor
    ds dominee pastoor pater broeder zuster kapelaan kardinaal paus bisschop aartsbisschop rabbijn imam
    minister premier staatssecretaris president vicepresident burgemeester wethouder gouverneur
    commissaris senator kamerlid partijleider fractieleider voorzitter ondervoorzitter secretaris
    penningmeester directeur topman topvrouw baas oprichter eigenaar woordvoerder woordvoerster
    advocaat officier rechter aanklager procureur notaris inspecteur agent commissaris rechercheur
    coach trainer bondscoach aanvoerder keeper doelman spits middenvelder verdediger renner wielrenner
    ploegleider kopman schaatser atleet tennisser tennisster zwemmer zwemster voetballer speler
    spelers schrijver schrijfster auteur dichter dichteres zanger zangeres acteur actrice regisseur
    componist dirigent kunstenaar schilder fotograaf journalist presentator presentatrice collega
    prins prinses koning koningin keizer keizerin graaf gravin baron barones hertog hertogin jonkheer
    generaal kolonel majoor kapitein luitenant sergeant korporaal soldaat admiraal
    vader moeder zoon dochter broer zus echtgenoot echtgenote weduwe weduwnaar vrouw man oom tante
    neef nicht opa oma grootvader grootmoeder kleinzoon kleindochter vriend vriendin
    sir lord lady madame monsieur mister mrs ms miss herr frau signor señor jhr jkvr wed ridder jonkvrouw
    """.split()
)

#: Forms of address after which a lowercase tussenvoegsel opens a name (de heer van Aken).
ADDRESS_FORMS = frozenset(
    "heer heeren heren mevrouw mevr mw mej meneer mijnheer dhr hr mr dr drs ir prof wed weduwe juffrouw "
    "jhr jkvr jonkheer jonkvrouw vrouwe baron barones graaf gravin ridder".split()
)

#: Titles of nobility that stand inside a name, between the initials and the surname
#: (``J. W. C. baron van Ittersum``, ``Mr. J. A. ridder van der Heim``): part of the name there.
NOBLE_TITLES = frozenset("baron barones graaf gravin ridder jonkheer jonkvrouw burggraaf markies".split())

#: Abbreviations of "His/Her Majesty/Royal Highness/Excellency": a reference, not a name.
HONORIFIC_INITIALS = frozenset("zm zkh hm hkh ze zh zijne hare".split())

#: Titles and forms of address a surrogate keeps; some imply the gender of the first name.
FEMALE_TITLES = frozenset({"mevrouw", "mevr", "mw", "juffrouw", "juf", "zuster", "tante", "oma", "moeder"})
MALE_TITLES = frozenset({"meneer", "mijnheer", "heer", "dhr", "hr", "oom", "opa", "broeder", "vader"})
NEUTRAL_TITLES = frozenset(
    {
        "mr",
        "dr",
        "drs",
        "ir",
        "ing",
        "prof",
        "ds",
        "bc",
        "burgemeester",
        "wethouder",
        "minister",
        "staatssecretaris",
        "premier",
        "rechter",
        "notaris",
        "dokter",
        "meester",
        "pastoor",
        "dominee",
        "agent",
        "commissaris",
        "directeur",
        "gedeputeerde",
        "kamerlid",
        "raadslid",
        "officier",
        "advocaat",
    }
)

#: Suffixes after a name that a surrogate keeps (``jr.``, ``MSc``).
NAME_SUFFIXES = frozenset({"jr", "sr", "msc", "bsc", "ma", "ba", "phd", "mba", "llm", "llb"})

#: Endings of compound roles (televisiemaker, Likoed-leider, ex-president, oud-premier).
ROLE_ENDINGS = tuple(
    "leider voorzitter minister president premier maker chef woordvoerder directeur trainer coach winnaar "
    "speler kampioen renner zanger zangeres schrijver auteur promotor manager kandidaat rechter advocaat "
    "generaal secretaris commissaris burgemeester schepen coördinator coordinator".split()
)

# --------------------------------------------------------------------------------------------------
# Words around a name

#: Verbs and phrases of saying around a name (lowercase).
SPEECH_AFTER = frozenset(
    "zegt zei zeggen verklaart verklaarde vertelt vertelde meldt meldde vindt vond denkt dacht schrijft "
    "schreef stelt stelde antwoordt antwoordde reageert reageerde benadrukt benadrukte vraagt vroeg "
    "liet wil won wint scoorde scoort".split()
)
SPEECH_BEFORE = frozenset("volgens aldus zegt zei vertelt vertelde meldt schrijft vraagt dixit".split())

#: Endings of capitalised adjectives and demonyms (Buitenlandse, Joegoslavische, Braziliaan).
ADJECTIVE_ENDINGS = (
    "ish",
    "landse",
    "ische",
    "iaanse",
    "aanse",
    "eese",
    "sche",
    "iaan",
    "ees",
    "ese",
    "iër",
    "anders",
)

#: Prepositions of place: a lone capitalised word after them is a place more often than a person.
PLACE_PREPOSITIONS = frozenset("in uit naar te nabij richting bij tussen rond".split())

#: Short forms of Dutch and Flemish given names that Faker's lists lack (Kees, Joop, Truus).
DUTCH_SHORT_GIVEN_NAMES = frozenset(
    """
    Kees Joop Jaap Sjaak Ton Toon Mien Truus Riet Toos Nel Bep Hanke Ruud Frits Huub Hanneke Ineke Koos
    Tjeerd Wietske Aukje Hennie Staf Sjef Har Jos Jo Gerrit Henk Piet Klaas Wim Hans Bram Daan Gijs Teun
    Hein Siem Dolf Jet Jetje Lies Lien Tineke Joke Janneke Marjan Marjolein Mieke Annet Anneke Gerda
    Dieuwke Sietske Geertje Trijntje Hendrik Dirk Sjoerd Wout Wouter Jef Lieven Rik Dries Fons Warre
    """.split()
)

# --------------------------------------------------------------------------------------------------
# Bodies, places and streets. Two street lists on purpose: the name rules' STREET_ENDINGS veto a person
# (ten common endings); the address recognizer's STREET_SUFFIXES find a street before a house number (also
# "dijk", "hof", "pad", "park", ...).

#: Words inside a capitalised run that make it an organisation, place or event, not a person.
NOT_PERSON_WORDS = frozenset(
    """
    bank partij club vereniging stichting universiteit hogeschool school ministerie kamer raad
    rechtbank hof gemeente provincie regering kabinet parlement senaat commissie bond unie federatie
    groep holding bv nv vzw inc ltd corp co gmbh sa ag plc fc sc vv ajax psv cdv vld spa sp pvda vvd cda
    kerk kathedraal basiliek abdij museum theater stadion paleis kasteel ziekenhuis kliniek centrum
    straat laan weg plein gracht kade dijk park haven luchthaven station rivier zee meer berg eiland
    airlines air records press times news post krant courant dagblad journaal
    staten gedeputeerde provinciale koninklijke koninklijk rijk rijks sectie afdeeling afdeling regiment
    cup beker trofee prijs prix grand tour ronde open spelen kampioenschap olympische
    noord zuid oost west noord- zuid- oost- west- nieuw sint st
    qaida qaeda jazeera aqsa
    pharma securities national international holdings motors telecom media systems software studio
    studios capital partners consulting services foods energy insurance finance financial industries
    electronics communications networks technologies solutions airways
    """.split()
)

#: Endings of compound nouns for a company, service, club or medium (``Inlichtingendienst``,
#: ``oliedienstverlener``, ``mediaholding``, ``voetbalclub``): such a word is a body, never a person's name.
BODY_ENDINGS = (
    "bedrijf", "concern", "holding", "groep", "maatschappij", "vennootschap", "verlener", "leverancier",
    "fabrikant", "producent", "provider", "uitgeverij", "keten", "bank", "krant", "dagblad", "weekblad",
    "omroep", "zender", "club", "ploeg", "partij", "firma", "verzekeraar", "dienst", "fonds", "genootschap",
    "vereniging", "ministerie", "commissie",
)  # fmt: skip

#: Nouns that name a kind of place or body: the capitalised word right after them is its name (``de wijk
#: Feijenoord``, ``het dorp Nes``), not a person, whatever the model thinks.
PLACE_NOUNS = frozenset(
    "wijk buurt stad dorp gemeente provincie regio streek rivier straat plein haven eiland land club "
    "vereniging stichting partij krant omroep ziekenhuis school universiteit station".split()
)

#: Endings of street names (Prins Hendrikkade, Oudegracht): a word with one is a street, not a person.
STREET_ENDINGS = ("straat", "laan", "plein", "gracht", "kade", "singel", "steeg", "dreef", "markt", "weg")

#: Endings of street names the address recognizer matches before a house number.
STREET_SUFFIXES = (
    "straat", "weg", "laan", "plein", "gracht", "kade", "dijk", "singel", "steeg", "hof", "pad", "dreef",
    "markt", "park", "wal", "plantsoen", "baan", "haven", "kanaal", "brink", "boulevard", "allee", "hout",
)  # fmt: skip

# --------------------------------------------------------------------------------------------------
# The name model's lists: its features read them, so they are frozen with the shipped model (a change
# needs a retrained model and a new FEATURES_VERSION). They are shorter than the rules' lists above: the
# model learnt the rest.

#: Words before a name that announce one (lowercase, no dot): forms of address, titles, roles.
MODEL_TITLE_CUES = frozenset(
    """
    heer heren mevrouw mevr mw mej mejuffrouw juffrouw meneer mijnheer dhr hr mr dr drs ir ing prof
    professor ds dominee pastoor pater zuster kardinaal paus bisschop rabbijn imam wed weduwe
    minister premier staatssecretaris president burgemeester wethouder gouverneur commissaris senator
    kamerlid fractieleider partijleider voorzitter directeur topman woordvoerder woordvoerster advocaat
    officier rechter notaris inspecteur coach trainer bondscoach aanvoerder prins prinses koning koningin
    graaf gravin baron jonkheer generaal kolonel majoor kapitein luitenant sir lord lady madame monsieur
    mister mrs ms miss herr frau collega schrijver auteur zanger zangeres acteur actrice regisseur
    """.split()
)

#: Lowercase words that join parts of one name (with "ben"; without "d'", "l'", "v.d", "abu", "abou", "ould").
MODEL_PARTICLES = frozenset(
    "van de der den het 't ten ter te in op la le du da di von zu del della dos das al el bin ibn ben mac "
    "vande vander vanden v/d v.d. 's".split()
)

#: Verbs of saying around a name (one list for before and after it).
MODEL_SPEECH = frozenset(
    "zegt zei zeggen verklaart verklaarde vertelt vertelde meldt meldde vindt vond denkt dacht schrijft "
    "schreef stelt stelde antwoordt antwoordde reageert reageerde benadrukt benadrukte vraagt vroeg "
    "volgens aldus".split()
)

#: Words that make a capitalised run an organisation or place (lowercase).
MODEL_ORG_PLACE_WORDS = frozenset(
    """
    bank partij club vereniging stichting universiteit hogeschool school ministerie kamer raad rechtbank
    hof gemeente provincie regering kabinet parlement senaat commissie bond unie federatie groep bv nv
    inc ltd kerk museum theater stadion paleis ziekenhuis centrum straat laan weg plein gracht kade dijk
    park haven luchthaven station rivier zee eiland krant dagblad
    """.split()
)

#: Months and days (without abbreviations, unlike the rules' :data:`CALENDAR`).
MODEL_CALENDAR = frozenset((*MONTHS, *WEEKDAYS))
