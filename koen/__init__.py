"""koen-retrieval: Korean-English cross-lingual retrieval, from data to report (library)."""
