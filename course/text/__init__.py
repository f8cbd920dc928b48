"""Text: real offline tokenizers, the course's own passages, parallel texts from its translations, small word
vocabularies."""
