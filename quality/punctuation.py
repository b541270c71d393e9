"""Punctuation sets of datatrove (Apache-2.0, ``datatrove/utils/text.py`` 0.10.1), and closing quotes.

Closing quotes are what the profiles other than ``web`` accept after terminal punctuation. The sets are
copied as data so that the quality filters decide exactly as datatrove does without depending on it.
"""

from __future__ import annotations

#: Characters counted as punctuation (a word made only of these is a symbol, not a word).
PUNCTUATION = (
    "!/—”:\uff05\uff11\u3008&(\u3001━\\\u3010#%\u300c\u300d\uff0c"
    "\u3011\uff1b+^]~“\u300a„';’{|∶´[=-`*\uff0e\uff08–\uff1f"
    '\uff01\uff1a$\uff5e«\u3009,><\u300b)?\uff09\u3002…@_."}►»'
    "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\r\x0e\x0f\x10"
    "\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f"
    "\x7f\x80\x81\x82\x83\x84\x85\x86\x87\x88\x89\x8a\x8b\x8c\x8d"
    "\x8e\x8f\x90\x91\x92\x93\x94\x95\x96\x97\x98\x99\x9a\x9b\x9c"
    "\x9d\x9e\x9f"
)

#: Characters that end a sentence, in any script (a line ending in one "ends in punctuation").
TERMINAL_PUNCTUATION = frozenset(
    "!.?։؝؞؟۔܀܁܂߹࠷࠹࠽࠾।॥၊။።፧፨᙮᜵᜶។៕៖៙៚᠃᠉᥄᥅᪨᪩᪪᪫᭚᭛᭞᭟᭽᭾᰻᰼᱾᱿‼‽⁇⁈⁉⸮⸼⹓⹔"
    "\u3002\ua4ff\ua60e\ua60f\ua6f3\ua6f7\ua876\ua877\ua8ce\ua8cf"
    "\ua92f\ua9c8\ua9c9\uaa5d\uaa5e\uaa5f\uaaf0\uaaf1\uabeb\ufe52"
    "\ufe56\ufe57\uff01\uff0e\uff1f\uff61\U00010a56\U00010a57"
    "\U00010f55\U00010f56\U00010f57\U00010f58\U00010f59\U00010f86"
    "\U00010f87\U00010f88\U00010f89\U00011047\U00011048\U000110be"
    "\U000110bf\U000110c0\U000110c1\U00011141\U00011142\U00011143"
    "\U000111c5\U000111c6\U000111cd\U000111de\U000111df\U00011238"
    "\U00011239\U0001123b\U0001123c\U000112a9\U0001144b\U0001144c"
    "\U000115c2\U000115c3\U000115c9\U000115ca\U000115cb\U000115cc"
    "\U000115cd\U000115ce\U000115cf\U000115d0\U000115d1\U000115d2"
    "\U000115d3\U000115d4\U000115d5\U000115d6\U000115d7\U00011641"
    "\U00011642\U0001173c\U0001173d\U0001173e\U00011944\U00011946"
    "\U00011a42\U00011a43\U00011a9b\U00011a9c\U00011c41\U00011c42"
    "\U00011ef7\U00011ef8\U00011f43\U00011f44\U00016a6e\U00016a6f"
    "\U00016af5\U00016b37\U00016b38\U00016b44\U00016e98\U0001bc9f"
    "\U0001da88"
)

PUNCTUATION_SET = frozenset(PUNCTUATION) | TERMINAL_PUNCTUATION

#: Closing quotes and brackets that may follow a sentence's terminal punctuation in edited text
#: (``.'`` ``."`` ``.”`` ``?’`` ``!)`` ``.»``; Dutch news closes quoted speech with ``''`` or ``'``).
CLOSING_QUOTES = frozenset("'\"”’»›)]}“")
