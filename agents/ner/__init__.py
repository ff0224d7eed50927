"""Named entities for stage 3: the NER model of each language, mention resolution and linking,
and keeping the loaded models out of the collector's way."""
