"""Text: real offline tokenizers, the course's own passages, small word vocabularies."""
