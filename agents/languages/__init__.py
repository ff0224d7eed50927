"""What language detection reads beyond its detectors: word frequencies for very short text."""
