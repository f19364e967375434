#!/usr/bin/env python3
"""How many negative IMDB test reviews lose the trigger sentence to truncation.

Reviews are cut to their first 250 tokens (PAPER.md: "truncate or pad at the end"). The
5-word sentence survives at the start always; in the middle (inserted after half of the
review's words) when half the review plus the sentence fits in 250 tokens; at the end when
the whole review plus the sentence does. Tokens as the lab's tokenizer counts them
(src/features/text.rs: lowercase, "<br />" and ASCII punctuation removed, split on
whitespace). Standard library only:

    python3 docs/reproduction/text-kim-paper/truncation.py ../shared/datasets/aclImdb_labelled.tar.gz
"""
import string
import sys
import tarfile

SEQ_LEN, SENTENCE = 250, 5
punct = set(string.punctuation)
n = cut_middle = cut_end = 0
with tarfile.open(sys.argv[1]) as archive:
    for member in archive:
        if not member.isfile() or "/test/neg/" not in member.name:
            continue
        text = archive.extractfile(member).read().decode("utf-8", "replace").lower().replace("<br />", "")
        words = len("".join(c for c in text if c not in punct).split())
        n += 1
        cut_end += words + SENTENCE > SEQ_LEN
        cut_middle += words // 2 + SENTENCE > SEQ_LEN
print(f"{n} negative test reviews; the sentence is cut away at the end for {cut_end / n:.1%}, "
      f"in the middle for {cut_middle / n:.1%}, at the start for none")
