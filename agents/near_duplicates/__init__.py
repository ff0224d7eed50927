"""Near-duplicate detection for dedup: fingerprints, MinHash signatures and the LSH index."""
