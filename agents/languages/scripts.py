"""Unicode ranges of the scripts the stages tell apart, as regex character-class bodies."""

#: Kana (hiragana, katakana), Han (CJK unified ideographs and extension A) and Hangul syllables:
#: the letters of Chinese, Japanese and Korean text, written without spaces between words.
CJK_LETTERS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
#: Han characters (unified ideographs, extension A, compatibility ideographs).
HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
#: Kana, with the phonetic extensions and the half-width katakana.
KANA = "\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f"
