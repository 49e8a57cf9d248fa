"""negmon: find the Russian social-media posts that need a reply from a regional government.

>>> import negmon
>>> r = negmon.classify("В Кстово третий день нет горячей воды, администрация молчит!")  # doctest: +SKIP
>>> r.sentiment, r.topic, r.needs_reply, r.priority                                    # doctest: +SKIP
('negative', 'housing_utilities', True, 'normal')

Heavy libraries (onnxruntime, pymorphy3's dictionaries) load when a model or the lemmatizer is first used.
"""

from negmon import errors
from negmon.addresses import extract_addresses
from negmon.classifier import Classifier, classify, classify_batch
from negmon.frames import classify_dataset, classify_frame, to_frame
from negmon.localities import extract_localities
from negmon.moods import aggregate
from negmon.normalize import Normalized, Token, normalize
from negmon.result import Address, Locality, Post, Reason, Result

__version__ = "0.1.0"
__all__ = [
    "Address",
    "Classifier",
    "Locality",
    "Normalized",
    "Post",
    "Reason",
    "Result",
    "Token",
    "__version__",
    "aggregate",
    "classify",
    "classify_batch",
    "classify_dataset",
    "classify_frame",
    "errors",
    "extract_addresses",
    "extract_localities",
    "normalize",
    "to_frame",
]
