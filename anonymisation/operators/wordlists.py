"""Word lists and letter sets the surrogates draw from (written for this package).

Common Dutch names, streets and places are facts, not a source. The Dutch words that decide how a name is
read (titles, tussenvoegsels, months) are in :mod:`anonymisation.vocabulary`.
"""

from __future__ import annotations


def _bar_list(text: str) -> tuple[str, ...]:
    """Split a ``|``-separated multi-line literal into stripped items."""
    return tuple(item.strip() for item in text.split("|") if item.strip())


MALE_NAMES = tuple(
    """
    Jan Pieter Kees Hendrik Willem Johannes Cornelis Gerrit Dirk Jacob Klaas Hans Peter Marco Mark
    Martijn Bas Sander Thomas Daan Sem Lucas Levi Finn Luuk Milan Jesse Bram Tim Lars Ruben Thijs
    Stijn Niels Joost Jeroen Rob Erik Frank Paul Michiel Wouter Maarten Bart Arjan Ronald René Henk
    Gert Ad Ton Wim Theo Frans Joop Harm Sjoerd Tjeerd Wietse Jelle Sietse Douwe Auke Hidde Koen
    Teun Gijs Jorn Rik Tom Sven Max Noah Sam Julian Mees Jens Siem Ties Olivier Boaz Floris Job Tijn
    Guus Hugo Jurre Quinten Vincent Stefan Dennis Patrick Edwin Richard Raymond Marcel Robert Johan
    Jos Leo Anton Arie Bert Evert Gerard Herman Jaap Joris Karel Lambert Nico Rutger Simon Wessel
    Wiebe Yannick Mohamed Youssef Ibrahim Mustafa Ali Omar Hamza Ayoub Emre Mehmet Kevin Jeffrey
    Ricardo Sebastiaan Laurens Maurits Coen Diederik Egbert Fokke Geert Hielke Jochem Kasper Lodewijk
    Menno Otto Reinier Roel Stan Tobias Valentijn Wilco Xander Aart Berend Chiel Dolf Ewout Freek
    """.split()
)
FEMALE_NAMES = tuple(
    """
    Anna Maria Johanna Cornelia Elisabeth Wilhelmina Hendrika Geertruida Margaretha Catharina Emma
    Julia Sophie Tess Zoë Sara Eva Lotte Lisa Fleur Noor Mila Saar Nina Lieke Anouk Femke Sanne
    Marloes Linda Monique Ingrid Petra Ellen Karin Esther Marieke Annemiek Ilse Inge Janneke Jolanda
    Marjolein Miriam Mirjam Nicole Patricia Sandra Saskia Wendy Yvonne Anja Astrid Bianca Carla
    Dorien Elise Floor Hanneke Iris Jasmijn Kim Laura Manon Merel Naomi Romy Roos Sofie Vera Yara Liv
    Nova Evi Olivia Maud Isa Sarah Fenna Lynn Jet Elin Hannah Loïs Amber Demi Britt Joyce Kelly
    Denise Mariska Tineke Gerda Riet Truus Ria Annie Corrie Greet Henny Joke Marian Ans Els Ineke
    Mieke Trudy Wilma Anne Marie Jantine Sietske Geesje Aaltje Grietje Fatima Khadija Aisha Meryem Yasmina
    Samira Nadia Latifa Agnes Berber Charlotte Daphne Eline Frederique Gonnie Heleen Ida Jacqueline
    Klaartje Lieve Machteld Nathalie Paulien Renske Silvia Thirza Ursula Willemijn Anneke Bregje
    """.split()
)
SURNAMES = tuple(
    """
    Jansen Bakker Visser Smit Meijer Mulder Bos Vos Peters Hendriks Dekker Brouwer Dijkstra Smits
    Janssen Willems Kok Jacobs Schouten Vermeulen Hoekstra Koster Prins Huisman Peeters Kuipers Maas
    Postma Verbeek Kramer Bosman Gerritsen Vink Kuiper Schipper Timmermans Mol Groen Wouters Hermans
    Koning Jonker Evers Martens Verhoeven Blom Scholten Veenstra Hoogendoorn Willemsen Vermeer
    Boersma Sanders Koopman Driessen Claassen Franken Hofman Verhoef Lammers Nijhuis Hoekman Wolters
    Bouwman Aerts Verschuren Bruins Sluiter Zwart Schut Hendriksen Gerrits Stam Koopmans Brink Pol
    Post Molenaar Mulders Kroon Kamp Buijs Kersten Hoek Kuijpers Verhagen Goossens Heijnen Claessens
    Wagenaar Hofstra Westra Zijlstra Terpstra Bosma Visscher Wiersma Kooistra Talsma Sijtsma
    Nijenhuis Oosterhuis Wessels Brinkman Hulshof Lubbers Veldman Pauw Keijzer Sommer Ottens
    Tuinstra Schuurman Scheffer Damen Arts Geurts Thijssen Coenen Bongers Verstappen Rutten Beekman
    Staal Blaauw Snijders Hoogland Klaver Vonk Leeuwis Rietveld Hartman Bleeker Sterk Mooij Rijnders
    Ligthart Oudshoorn Kemper Overbeek Kolk Dijkman Reinders Rozendaal Stevens Groenewegen Zuidema
    Bouma Faber Wieringa Tromp Jongsma Siebenga Hermsen Klein Lenders Mertens Nieuwenhuis Ploeger
    Roelofs Slot Teunissen Vogel Wijnen Zomer Baas Burger Dam Eijkelenboom Fransen Gorter Haverkamp
    Jongerius Kalkman Lindeman Meulenbelt Noordhuis Ooms Pieterse Quist Rademaker Schreuder
    """.split()
)
# (tussenvoegsel, core)
TV_SURNAMES = tuple(
    tuple(item.rsplit(" ", 1))
    for item in _bar_list(
        """
    de Vries|de Jong|van Dijk|van den Berg|van der Meer|de Boer|van Leeuwen|de Groot|van der Linden|
    van der Heijden|de Graaf|van Beek|van Vliet|de Haan|van den Broek|van Wijk|de Bruijn|van Dam|
    van der Veen|van der Wal|de Wit|van Veen|van den Heuvel|van der Laan|van Doorn|van der Ploeg|
    de Lange|van Dongen|van Rijn|van Loon|de Ruiter|van den Bosch|ter Horst|de Kok|van Os|van Houten|
    van Gils|van Essen|van Kempen|van Zanten|de Roos|van Schaik|van der Velden|van Eijk|van Rooij|
    van de Ven|de Klerk|van Hoof|van Rossum|te Riele|van Ginkel|van Es|van der Zee|van den Bergh|
    van Geest|ten Brink|van der Horst|de Wilde|van Oosten|van Hulst|de Vos|de Koning|van der Steen|
    de Wolf|van de Kamp|van het Hof|in 't Veld|van 't Zand|op den Akker|van de Pol
    """
    )
)
STREETS = _bar_list(
    """
    Kerkstraat|Dorpsstraat|Schoolstraat|Molenstraat|Molenweg|Stationsweg|Stationsstraat|Julianastraat|
    Wilhelminastraat|Beatrixstraat|Emmastraat|Oranjestraat|Nieuwstraat|Hoofdstraat|Markt|Parallelweg|
    Industrieweg|Sportlaan|Kastanjelaan|Eikenlaan|Beukenlaan|Lindelaan|Berkenlaan|Irenestraat|
    Bernhardstraat|Tulpstraat|Rozenstraat|Vlietweg|Dijkstraat|Havenstraat|Voorstraat|Achterstraat|
    Zandweg|Veldweg|Brugstraat|Nieuweweg|Prinsengracht|Spoorlaan|Meidoornlaan|Vogelzang|Wilgenlaan|
    Populierenlaan|Boslaan|Esdoornstraat|Leeuweriklaan|Merelstraat|Zwanenlaan|Burgwal|Raadhuisstraat
    """
)
CITIES = _bar_list(
    """
    Amsterdam|Rotterdam|Den Haag|Utrecht|Eindhoven|Groningen|Tilburg|Almere|Breda|Nijmegen|Apeldoorn|
    Haarlem|Arnhem|Enschede|Amersfoort|Zaandam|Zwolle|Leiden|Maastricht|Dordrecht|Zoetermeer|Ede|
    Alkmaar|Delft|Deventer|Leeuwarden|Venlo|Helmond|Hilversum|Heerlen|Oss|Hengelo|Assen|Gouda|Zeist|
    Roosendaal|Emmen|Lelystad|Purmerend|Schiedam|Vlaardingen|Middelburg|Harderwijk|Meppel|Sneek|
    Winterswijk|Doetinchem|Tiel|Goes|Den Helder
    """
)
EMAIL_DOMAINS = (
    "voorbeeld.example",
    "mail.example",
    "post.example",
    "webmail.example",
    "mijnprovider.example",
    "thuis.example",
    "kantoor.example",
    "bedrijf.example",
    "organisatie.example",
    "internet.example",
)
URL_WORDS = ("pagina", "nieuws", "artikel", "contact", "over-ons", "dossier", "informatie", "documenten", "profiel")
NL_BANKS = ("ABNA", "INGB", "RABO", "SNSB", "ASNB", "RBRB", "TRIO", "KNAB", "BUNQ", "FVLB")
PLATE_LETTERS = "BDFGHJKLNPRSTVXZ"  # no vowels (and no C, Q, M, W), as on Dutch plates
POSTCODE_LETTERS = "ABCDEGHJKLMNPRSTVWXZ"  # no F, I, O, Q, U, Y
INITIAL_LETTERS = "ABCDEFGHIJKLMNOPRSTVW"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
IPV4_DOC_NETS = ("192.0.2", "198.51.100", "203.0.113")

MALE_SET = frozenset(n.casefold() for n in MALE_NAMES)
FEMALE_SET = frozenset(n.casefold() for n in FEMALE_NAMES)

TWO_DIGIT_AREA_CODES = frozenset(
    "10 13 15 20 23 24 26 30 33 35 36 38 40 43 45 46 50 53 55 58 70 71 72 73 74 75 76 77 78 79 84 85 87 88".split()
)
SERVICE_PREFIXES = ("800", "900", "906", "909")
