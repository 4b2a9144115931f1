"""KH Coder coding rules (voclens.interviews.rules) on realistic interview answers."""

from __future__ import annotations

import pytest

from voclens.errors import ConfigError
from voclens.interviews import rules as rules_mod
from voclens.interviews.rules import code_segments, load_rules, match, parse_condition, parse_rules
from voclens.text.tokenize import tokenize


def holds(condition: str, text: str) -> bool:
    """Does a one-code rule file with ``condition`` match ``text``?"""
    (rule,) = parse_rules(f"＊テスト\n{condition}\n")
    return match(rule, tokenize(text), text)


def index_of(text: str, surface: str) -> int:
    return [t.surface for t in tokenize(text)].index(surface)


# --- words ----------------------------------------------------------------------------------

@pytest.mark.parametrize("condition, text, expected", [
    ("使う", "前のアプリは三年くらい使ってました。", True),  # lemma / base form: 使う matches 使っ
    ("使う", "使ったことはないです。", True),
    ("使う", "ほとんど触ってないです。", False),
    ("繋がる", "サポートに電話してもつながらなかった。", True),  # the 語彙素 matches every spelling
    ("つながる", "やっと繋がったと思ったら切れました。", False),  # a written form matches that spelling only
    ("つながる", "サポートに電話してもつながらなかった。", True),
    ("高い", "月謝が高くて、正直かなり迷いました。", True),  # 高く -> 高い
])
def test_word_matches_lemma_or_base_form(condition, text, expected):
    assert holds(condition, text) is expected


def test_multi_token_word_matches_as_phrase():
    assert holds("使い方", "最初は使い方がよくわからなかったんです。")
    assert not holds("使い方", "使ってみた方がいいと言われて。")  # 使っ…方 not adjacent
    assert holds("時間がない", "平日は時間がないので週末にまとめて作ります。")
    assert holds("わからない", "運動の仕方がわからなくて不安でした。")  # わから+なく (ない)


def test_plus_phrase_and_quotes():
    assert holds("健康+診断", "健康診断で体重増加を指摘されました。")
    assert not holds("健康+診断", "健康のために診断を受けた。")
    assert holds('"体重"', "体重が五キロ減りました。")  # double quotes: a word
    # single quotes: a raw string, not tied to words (KH Coder 文字列指定)
    assert holds("'神アプリ'", "正直、神アプリだと思っています。")
    assert holds("'である。'", "これは問題である。")
    assert not holds("'である。'", "これは問題であった。")
    assert holds("'It''s'", "It's fine")  # '' inside quotes is one '


# --- operators ------------------------------------------------------------------------------

TEXT_PRICE = "値段が高くて、申し込むかどうか迷いました。"


@pytest.mark.parametrize("condition, expected", [
    ("値段 and 高い", True),
    ("値段 & 迷う", True),
    ("値段 and 安い", False),
    ("安い or 迷う", True),
    ("安い | 便利", False),
    ("値段 and not 安い", True),
    ("値段 &! 高い", False),
    ("安い |! 便利", True),
    ("not 安い", True),
    ("! 値段", False),
    ("値段 AND 高い", True),
    ("値段 ＆ 高い ｜ 安い", True),
    ("安い or 値段 and 迷う", True),  # and binds tighter than or
    ("( 安い or 値段 ) and 便利", False),
])
def test_boolean_operators(condition, expected):
    assert holds(condition, TEXT_PRICE) is expected


def test_nested_parentheses_with_and_without_spaces():
    text = "子どもが生まれてから、夕飯を作る時間がなくなったんです。"
    assert holds("((子ども or 娘) and (生まれる or 入学)) and not (引っ越す or (転職 and 退職))", text)
    assert holds("( ( 子ども | 娘 ) & ( 生まれる | 入学 ) ) &! 引っ越す", text)
    assert holds("（子ども or 娘）and 作る", text)  # full-width parentheses
    assert not holds("((子ども and 転職))", text)


def test_counts_and_comparisons():
    text = "デザインは好き。でもデザインの割に機能が少ない。"
    assert holds("デザイン >= 2", text)
    assert not holds("デザイン >= 3", text)
    assert holds("デザイン == 2 and 機能 < 2", text)
    assert holds("デザイン + 機能 > 2", text)


# --- near / seq -----------------------------------------------------------------------------

def test_near_default_window_is_ten_tokens_either_order():
    text10 = "ジムは駅から近いし料金も安いから入会した"
    text11 = "ジムは駅から近いし料金もそこそこ安いから入会した"
    assert index_of(text10, "入会") - index_of(text10, "ジム") == 10
    assert index_of(text11, "入会") - index_of(text11, "ジム") == 11
    assert holds("near(ジム-入会)", text10)
    assert not holds("near(ジム-入会)", text11)
    assert holds("near(入会-ジム)", text10)  # any order
    assert holds("near(ジム-入会)[11]", text11)  # [n]: window of n
    assert not holds("near(ジム-入会)[5]", text10)


def test_near_three_words_each_within_window_of_the_last():
    text = "ジムに入会したけど、月謝が高いのが悩みです。"
    assert holds("near(ジム-入会-高い)", text)
    assert holds("near(高い-ジム-入会)", text)
    assert not holds("near(ジム-入会-安い)", text)


def test_near_with_multi_token_word():
    assert holds("near(見る-気になる)", "友人がSNSで紹介しているのを見て気になりました。")


def test_seq_needs_the_given_order():
    assert holds("seq(ジム-入会)", "ジムに入会しました。")
    assert not holds("seq(ジム-入会)", "入会したのは近所のジムです。")
    assert holds("near(ジム-入会)", "入会したのは近所のジムです。")
    assert holds("seq(子ども-生まれる-時間)", "子どもが生まれてから、夕飯を作る時間がなくなった。")
    assert not holds("seq(時間-生まれる-子ども)", "子どもが生まれてから、夕飯を作る時間がなくなった。")


def test_near_sentence_and_paragraph_options():
    two_sentences = "ジムは近いです。でも入会はまだ迷っています。"
    assert holds("near(ジム-入会)", two_sentences)
    assert not holds("near(ジム-入会)[b]", two_sentences)  # [b]: same sentence
    assert holds("near(ジム-入会)[b]", "ジムが近いので入会しました。")
    assert holds("near(ジム-入会)[d]", two_sentences)  # [d]: same paragraph
    assert not holds("near(ジム-入会)[d]", "ジムは近いです。\nでも入会はまだ迷っています。")
    far = "ジムは駅から近いし料金もそこそこ安いので結局そのまま入会した"
    assert not holds("near(ジム-入会)[b]", far)  # [b] keeps the 10-word window
    assert holds("near(ジム-入会)[b0]", far)  # [b0]: same sentence at any distance
    assert holds("seq(ジム-入会)[b20]", far)


# --- rule files -----------------------------------------------------------------------------

def test_comments_blank_lines_headers_and_multiline_conditions():
    text = "\ufeff" + """# オルタネイトモデル: きっかけ
# 単位: 回答者の発言

＊きっかけ
きっかけ or 指摘
  or near(見る-気になる)

*行動
入会
    | 申し込む   # ASCII header, condition over two lines
"""
    # a '#' after a word is not a comment in KH Coder: keep conditions and comments on separate lines
    with pytest.raises(ConfigError, match="line 10.*comment cannot follow"):
        parse_rules(text)
    parsed = parse_rules(text.replace("   # ASCII header, condition over two lines", ""))
    assert [r.name for r in parsed] == ["きっかけ", "行動"]
    assert [r.line for r in parsed] == [4, 8]
    assert parsed[0].source == "きっかけ or 指摘 or near(見る-気になる)"
    assert code_segments(parsed, ["健康診断で指摘されたのがきっかけです。", "そのまま申し込みました。", "特にないです。"]) == [
        ["きっかけ"], ["行動"], []]


def test_code_reuse_with_angle_brackets():
    parsed = parse_rules("""
＊価格
値段 or 料金 or 月謝 or 高い

＊離脱
( 解約 or 辞める ) and <＊価格>

＊価格以外の離脱
( 解約 or 辞める ) and not <*価格>

＊継続意向
<＊満足> &! <＊離脱>

＊満足
満足 or 嬉しい or 助かる
""")
    texts = ["月謝が高くて、結局三か月で解約しました。", "引っ越しで通えなくなって解約しました。", "すごく助かっていて満足です。"]
    assert code_segments(parsed, texts) == [["価格", "離脱"], ["価格以外の離脱"], ["継続意向", "満足"]]


def test_match_on_tokens_and_lone_condition():
    rule = parse_condition("near(体重-減る) or 痩せる", name="効果")
    assert rule.name == "効果"
    assert match(rule, tokenize("三か月で体重が四キロ減りました。"))
    assert not match(rule, tokenize("体重はあまり変わりませんでした。"))
    with pytest.raises(ConfigError, match="parse_rules"):
        parse_condition("<＊価格> or 高い")


def test_code_segments_tokenizes_each_text_once(monkeypatch):
    calls = []

    def counting(text):
        calls.append(text)
        return tokenize(text)

    parsed = parse_rules("＊A\n使う or near(使う-便利)\n＊B\n<＊A> and 便利\n＊C\nseq(使う-便利)")
    monkeypatch.setattr(rules_mod, "tokenize", counting)
    texts = ["毎日使っていて便利です。", "便利だけど使わない。", ""]
    assert code_segments(parsed, texts) == [["A", "B", "C"], ["A", "B"], []]
    assert calls == texts


def test_part_of_speech_and_form_filters():
    assert holds("米-->名詞", "お米を毎週買っています。")
    assert holds("米-->名詞C", "お米を毎週買っています。")  # KH Coder: one-kanji noun
    assert not holds("アメリカ-->地名", "アメリカンコーヒーが好き。")
    assert holds("東京-->地名", "東京に住んでいます。")
    assert holds("評価-->サ変名詞", "上司に評価されました。")
    assert holds("買う->未然形", "もう買わないと思います。")
    assert not holds("買う->未然形", "また買いたいです。")
    assert holds("買う=>買わ", "もう買わないと思います。")
    assert holds("買う-->動詞->連用形", "また買いたいです。")
    assert holds("ない-->否定助動詞", "もう買わないと思います。")
    assert not holds("ない-->否定助動詞", "時間がない。")  # here ない is an adjective


def test_file_from_disk_in_shift_jis(tmp_path):
    p = tmp_path / "rules.txt"
    p.write_bytes("＊欲求\nたい or 欲しい\n".encode("cp932"))
    (rule,) = load_rules(p)
    assert rule.name == "欲求" and holds(rule.source, "もっと楽に管理したい。")
    with pytest.raises(ConfigError, match="does not exist"):
        load_rules(tmp_path / "missing.txt")


# --- errors ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, where, token", [
    ("使う\n＊A\n買う", "line 1", "'使う'"),  # a condition before any header
    ("＊A\n使う\n\n＊\n買う", "line 4", "without a code name"),
    ("＊A\n使う\n＊A\n買う", "line 3", "defined twice"),
    ("＊A\n\n＊B\n使う", "line 1", "no condition"),
    ("＊A\n使う and\n", "line 2", "'and'"),
    ("＊A\n入会 or\n使う 買う", "line 3", "'使う' and '買う'"),  # KH Coder: two words need an operator
    ("＊A\n( 使う or\n 買う", "line 2", "'('"),
    ("＊A\n使う or 買う )", "line 2", "')'"),
    ("＊A\n使う not 買う", "line 2", "'not'"),
    ("＊A\nor 使う", "line 2", "'or'"),
    ("＊A\n使う & & 買う", "line 2", "'&'"),
    ("＊A\n使う\n＊B\n<＊C>", "line 4", "<＊C>"),
    ("＊A\n<＊B>\n＊B\n<＊A>", "line 1", "＊A -> ＊B -> ＊A"),
    ("＊A\nnear(使う)", "line 2", "near(使う)"),
    ("＊A\n使う or\nnear(使う-買う)[x]", "line 3", "[x]"),
    ("＊A\nnear('太陽'-'電池')", "line 2", "quoted"),
    ("＊A\nnear(簡潔-->形容動詞-簡潔)", "line 2", "part-of-speech"),
    ("＊A\nseq(使う-使う)", "line 2", "same word twice"),
    ("＊A\nnear (使う-買う)", "line 2", "space between 'near' and '('"),
    ("＊A\n米-->形容詞X", "line 2", "'形容詞X'"),
    ("＊A\n米-->組織名", "line 2", "'組織名'"),
    ("＊A\n買う->変な形", "line 2", "'変な形'"),
    ("＊A\n使い方-->名詞", "line 2", "'使い方'"),
    ("＊A\n<>性別-->女性", "line 2", "<>性別-->女性"),
    ("＊A\n高い or\n'神アプリ", "line 3", "'神アプリ"),
    ("＊A\nlw > 10", "line 2", "'lw'"),
])
def test_syntax_errors_name_line_and_token(text, where, token):
    with pytest.raises(ConfigError) as exc:
        parse_rules(text)
    msg = str(exc.value)
    assert where in msg and token in msg
    assert msg.count(". ") >= 1  # the problem, then how to fix it


# --- a whole codebook: the Alternate model --------------------------------------------------

ALT_MODEL = """\
# オルタネイトモデル: きっかけ・欲求・抑圧・行動・報酬（インタビュー発言の一次コーディング）
# 単位: 回答者の1発言

＊きっかけ
きっかけ or 指摘 or 勧める or 紹介 or 引っ越す or 転職
  or near(見る-気になる) or seq(子ども-生まれる)

＊欲求
たい or 欲しい or 理想 or 目標 or なりたい

＊抑圧
<＊価格の不安> or <＊時間の制約> or 面倒 or 不安 or 自信 or わからない

＊価格の不安
( 値段 or 料金 or 価格 or 月謝 ) and ( 高い or 迷う )

＊時間の制約
時間がない or 忙しい or near(時間-取れる)[b]

＊行動
入会 or 申し込む or 購入 or 注文 or 登録 or 試す or 比べる or 調べる

＊報酬
( 嬉しい or 楽しい or 助かる or 満足 or 'よかった' ) and not 後悔

＊継続
続ける or 通う or 習慣 or 毎週 or 毎朝

＊家族
家族 or 子ども or 子供 or 妻 or 夫 or 娘 or 息子

＊離脱
( 解約 or 辞める or やめる ) &! 続ける
"""

ANSWERS = [
    ("健康診断で体重増加を指摘されたのがきっかけで、ジムに入会しました。", ["きっかけ", "行動"]),
    ("本当は平日も家族と一緒にちゃんとしたご飯を食べたいんです。", ["欲求", "家族"]),
    ("月謝が高くて、正直かなり迷いました。", ["抑圧", "価格の不安"]),
    ("仕事が忙しくて、なかなか時間が取れないんですよね。", ["抑圧", "時間の制約"]),
    ("毎朝ストレッチを続けられるようになって、体が軽くなったのが嬉しいです。", ["報酬", "継続"]),
    ("友人がSNSで紹介しているのを見て気になりました。", ["きっかけ"]),
    ("子どもが生まれてから、夕飯を作る時間がなくなったんです。", ["きっかけ", "家族"]),
    ("使い方がわからなくて、何度もやめようかと思いました。", ["抑圧", "離脱"]),
    ("口コミを比べて申し込んだけど、正直ちょっと後悔しています。", ["行動"]),
    ("特にないですね。", []),
]


def test_alternate_model_rule_file():
    parsed = parse_rules(ALT_MODEL)
    assert [r.name for r in parsed] == ["きっかけ", "欲求", "抑圧", "価格の不安", "時間の制約", "行動", "報酬", "継続",
                                        "家族", "離脱"]
    got = code_segments(parsed, [t for t, _ in ANSWERS])
    assert got == [codes for _, codes in ANSWERS]
