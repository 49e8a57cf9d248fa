"""Settlements, municipal districts and federal subjects named in a post, normalized, with their region.

>>> [(x.name, x.region, x.surface) for x in extract_localities("из Нижнего до Кстово автобус ждали час")]
[('Нижний Новгород', 'Нижегородская область', 'Нижнего'), ('Кстово', 'Нижегородская область', 'Кстово')]

The compiled gazetteer (``data/gazetteer.json.gz``, see :mod:`negmon.localities.build`) maps every case
form of every name to its places. Matching is on lower-case, ё -> е forms, longest match first. A form
that is also an ordinary word ("бор", "мирный", "орёл") or a personal name ("Орлов", "Киров") is taken
only with a place cue (a preposition such as "в", "из", "под", or a marker such as "г.", "пос.", "с.");
names next to street words ("улица", "проспект", "ул.") or inside quotes are never places. A form that
names several places in different cases is first narrowed by the case its preposition governs ("в Советском":
Советский, not Советск); a settlement that shares its name with others is then resolved by the ``region``
hint, by the other places in the post, then by population, with a lower ``confidence`` when it had to guess.
Offsets index the original text.
"""

from __future__ import annotations

from negmon.localities.extractor import check_region, extract_localities

__all__ = ["check_region", "extract_localities"]
