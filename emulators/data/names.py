"""Name pools of the generated people: Norwegian, Swedish, Danish and Finnish names.

The pools include the letters (æ, ø, å, ä, ö, é) that clients must carry through unharmed,
hyphenated names, names found among newer Nordic residents, and a few with an apostrophe
("D'Souza"), whose emails exercise OData string quoting (`'` → `''`).
"""

from __future__ import annotations

import unicodedata


def words(text: str) -> tuple[str, ...]:
    """The whitespace-separated words of `text` (keeps long pools readable and formatter-proof)."""
    return tuple(text.split())


GIVEN_NAMES: dict[str, tuple[str, ...]] = {
    "NO": words(
        """
        Ingrid Kari Anne Marit Silje Ida Nora Ingeborg Sigrid Hanne Tone Åse Guro Solveig
        Ragnhild Vilde Maren Thea Synnøve Liv Randi Torill Hege Anne-Lise Mari Kristin Ola Lars
        Bjørn Knut Per Ole Jon Kåre Eirik Magnus Håkon Sindre Trygve Øystein Ørjan Terje Geir
        Arne Sverre Vegard Torbjørn Espen Jørgen Halvor Sjur Stian Tor-Erik Even Audun
        """
    ),
    "SE": words(
        """
        Anna Eva Karin Maria Kerstin Ingrid Elin Sara Emma Linnéa Åsa Märta Sofia Frida Malin
        Ebba Agneta Birgitta Ylva Lovisa Maja Annika Ann-Sofie Helén Lars Anders Johan Erik Per
        Karl Mikael Björn Göran Jörgen Pär Måns Olle Nils Sven Gustav Henrik Fredrik Ulf Stefan
        Mattias Linus Oskar Per-Olof Lars-Åke Håkan Kjell Torsten Åke Bengt
        """
    ),
    "DK": words(
        """
        Mette Hanne Susanne Lene Camilla Pernille Sofie Ida Freja Line Signe Birgitte Karen
        Anne-Mette Louise Maja Astrid Tove Helle Dorthe Søren Jens Niels Henrik Rasmus Mads
        Morten Jesper Anders Thomas Kasper Frederik Mikkel Jørgen Bjarne Poul Palle Kristoffer
        Esben Asger Bo Jens-Peter Troels Ulrik
        """
    ),
    "FI": words(
        """
        Aino Anneli Päivi Sari Tuula Riitta Johanna Kaisa Minna Satu Hanna Elina Laura Sanna
        Tiina Marja-Liisa Eeva Helmi Venla Kirsi Jukka Matti Mikko Timo Antti Juha Pekka Kari
        Jari Väinö Jyrki Heikki Ville Tuomas Eero Lauri Olli Sami Pasi Janne Teemu Aleksi Jaakko
        Esa-Pekka
        """
    ),
}

FAMILY_NAMES: dict[str, tuple[str, ...]] = {
    "NO": words(
        """
        Hansen Johansen Olsen Larsen Andersen Pedersen Nilsen Kristiansen Jensen Karlsen Haugen
        Bakken Solberg Berg Dahl Halvorsen Lunde Strand Moen Eide Sæther Bråten Kjær Løvås
        Ødegård Nygård Fjeld Aasen Rønning Brekke Holm Lie Tveit Myhre Sandvik Hauge Vik Skogen
        Engebretsen Grønli Hovland Sørensen Tangen Våge Bjørnstad Fosse Thorsen Hagen Aune
        """
    ),
    "SE": words(
        """
        Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson Svensson Gustafsson
        Pettersson Jonsson Lindberg Lindqvist Åkesson Söderberg Ström Sjöberg Bergström Lundgren
        Holmberg Engström Öberg Wallin Sandberg Forsberg Nordström Hedlund Ekström Björk Lindahl
        Dahlgren Sundström Falk Blom Hellström Nyström Åberg Mattsson Berglund Lindén Sjögren
        Fransson
        """
    ),
    "DK": words(
        """
        Nielsen Jensen Hansen Pedersen Andersen Christensen Larsen Sørensen Rasmussen Jørgensen
        Petersen Madsen Kristensen Olsen Thomsen Christiansen Poulsen Johansen Møller Mortensen
        Østergaard Kjærgaard Lauridsen Frederiksen Nørgaard Dalsgaard Holm Bach Lund Vestergaard
        Skov Bruun Søndergaard Damgaard Juhl Friis Brandt Krogh Høj Lykke
        """
    ),
    "FI": words(
        """
        Korhonen Virtanen Mäkinen Nieminen Mäkelä Hämäläinen Laine Heikkinen Koskinen Järvinen
        Lehtonen Lehtinen Saarinen Salminen Heinonen Niemi Heikkilä Kinnunen Salonen Turunen
        Salo Laitinen Tuominen Rantanen Karjalainen Jokinen Mattila Savolainen Lahtinen Ahonen
        Räsänen Kärkkäinen Väisänen Pöllänen Seppälä Honkanen Lindroos Åström Söderholm
        """
    ),
}

# Names found among residents of every Nordic country, drawn for a share of the people.
NEWER_GIVEN_NAMES: tuple[str, ...] = words(
    """
    Mohammed Ali Omar Ahmad Amir Yusuf Fatima Aisha Leyla Mariam Zainab Hiba Piotr Tomasz
    Agnieszka Katarzyna Anh Minh Linh Priya Rahul Arjun Deepa Mehmet Elif Ana Luis Sofía José
    Chloé Zoë Nuño
    """
)
NEWER_FAMILY_NAMES: tuple[str, ...] = words(
    """
    Ahmed Ali Hussain Khan Mohamud Hosseini Rahimi Nowak Kowalski Wiśniewski Nguyen Tran Pham
    Singh Sharma Patel Yılmaz Demir García Fernández Rodríguez Müller
    """  # noqa: RUF001 (the Turkish dotless i is meant)
)

# Rare on purpose: an apostrophe in an email must be doubled inside an OData string literal.
APOSTROPHE_FAMILY_NAMES: tuple[str, ...] = words(
    """
    D'Souza O'Brien D'Angelo O'Connor N'Diaye D'Silva O'Neill
    """
)

# Transliterations for email local parts: what Nordic companies do, and what NFKD cannot.
_FOLDED = {"æ": "ae", "ø": "o", "å": "a", "ß": "ss", "ł": "l", "\u0131": "i", "ð": "d", "þ": "th"}


def ascii_fold(text: str) -> str:
    """`text` with letters outside ASCII replaced (`Bjørn` → `Bjorn`, `Söderberg` → `Soderberg`)."""
    text = "".join(_fold_letter(c) for c in text)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def email_local_part(given: str, family: str) -> str:
    """`given.family`, lower-case ASCII (apostrophes and hyphens kept: mail systems allow them)."""
    return f"{ascii_fold(given)}.{ascii_fold(family)}".lower().replace(" ", "")


def _fold_letter(letter: str) -> str:
    if letter in _FOLDED:
        return _FOLDED[letter]
    lower = letter.lower()
    return _FOLDED[lower].capitalize() if lower in _FOLDED else letter
