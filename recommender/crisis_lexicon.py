"""The crisis lexicon: what a person writes when they are at risk, matched precisely.

It is good at what a sentence encoder misses (the spellings people use to dodge filters:
"sewerslide", "unalive", "kms", "k m s", leetspeak) and at plain statements of intent,
plan and method. Its precision comes from what it refuses: negation ("I would never kill
myself"), other people ("my brother died by suicide"), news and study, recovery ("a year
clean from self-harm") and hyperbole ("this pizza is so good I want to die").

Each pattern was written from the categories of warning signs (ideation, intent, plan,
method and means, goodbyes, recent self-harm), not from any labelled set. Text is only
inspected in memory.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class RiskLevel(StrEnum):
    NONE = "none"
    CONCERN = "concern"  # distress, past self-harm, worry for someone else
    CRISIS = "crisis"  # suicide or self-harm risk now


_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s",
                       "!": "i", "|": "i"})
_SEP = r"[ .\-_*,/]"


def _join_spaced(text: str) -> str:
    # "s u i c i d e", "k.m.s" -> "suicide", "kms" (three letters only for the known short forms)
    text = re.sub(rf"\b(?:[a-z]{_SEP}+){{3,}}[a-z]\b", lambda m: re.sub(_SEP, "", m.group(0)), text)
    return re.sub(rf"\b([kc]){_SEP}+([myt]){_SEP}+([sb])\b",
                  lambda m: "".join(m.groups()) if "".join(m.groups()) in ("kms", "kys", "ctb") else m.group(0), text)


def normalise(text: str) -> str:
    """Lower case, accents and leetspeak undone, spaced letters joined, repeats squeezed."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = text.replace("’", "'").replace("‘", "'")
    # leetspeak only inside words, so "took 52 pills" keeps its number
    text = re.sub(r"(?<=[a-z])[013457@$!|]+|[013457@$!|]+(?=[a-z])", lambda m: m.group(0).translate(_LEET), text)
    text = _join_spaced(text)
    text = re.sub(r"([a-z])\1{2,}", r"\1\1", text)
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    text = re.sub(r"\b(i) m\b", r"\1m", text)  # "i m" from "i'm" with a stripped apostrophe
    return re.sub(r"\s+", " ", text).strip()


_ME = r"(?:myself|my self|meself|myslef|mysef)"
_I = r"(?:i|im|i'm|ive|i've|i'll|ill|id|i'd)"
_WANT = (r"(?:want(?:ed|ing)? to|wanna|going to|gonna|gunna|ready to|plan(?:ning)? to|decided to|about to|"
         r"need to|have to|will|i'll|should|wish i could|tempted to|thinking (?:of|about)|urge to|try(?:ing)? to)")
_DIE = r"(?:die|be dead|not exist|stop existing|end it(?: all)?|end my life|end things|disappear forever|not be here)"
_METHOD_OBJECTS = (r"(?:pills|tablets|meds|medication|paracetamol|tylenol|ibuprofen|advil|sleeping pills|"
                   r"painkillers|antidepressants|insulin|bleach|antifreeze|poison|rat poison)")
_PLACES = r"(?:bridge|building|roof|rooftop|cliff|balcony|overpass|tower|parking garage|car park|ledge|window)"

# Each is risk now, in the writer's own voice, unless a suppressor below applies.
_CRISIS = [
    rf"\b(?:kill(?:ing|ed)?|kil) {_ME}\b", r"\bkms\b", r"\bkys myself\b", r"\bctb\b", r"\bcatch(?:ing)? the bus\b",
    r"\bunaliv(?:e|ing) {0}\b".format(_ME), rf"\b{_WANT} unalive\b", r"\bunalive me\b",
    r"\b(?:thinking|thought|thoughts) (?:of|about) unaliv\w*\b", r"\bunaliv(?:e|ing) (?:tonight|soon|today)\b",
    # passive ideation and hopelessness about living (warning signs, not everyday sadness)
    r"\b(?:what'?s|whats|what is) (?:even )?the point (?:of|in) (?:living|being alive|going on|staying alive|life)\b",
    r"\blife (?:isn'?t|is not|aint|ain'?t) worth (?:it|living)(?: anymore| any more)?\b",
    r"\b(?:no|running out of|out of) reasons? (?:for me )?to (?:stay|live|keep going|keep living|go on|be here)\b",
    r"\b(?:if|when) i died?\b.{0,30}\b(?:would|will) (?:anyone|anybody|any1|people) (?:even )?(?:care|notice|miss me)\b",
    r"\bdon'?t care (?:if|whether) i (?:live|die|wake up)\b",
    r"\b(?:better|easier|happier) (?:off )?(?:for (?:everyone|everybody|them|all of them) )?(?:without me|if i (?:just )?(?:was|were|wasn'?t|weren'?t) (?:gone|dead|here|around|alive))\b",
    r"\b(?:everyone|everybody|evry1|every1) (?:would|wud|will) be better (?:off )?without me\b",
    r"\bcan'?t see (?:myself|me) (?:surviving|making it|being (?:here|alive|around))\b",
    r"\b(?:death|dying|being dead|not existing) (?:sounds|seems|feels|would be) (?:so |really |kind of |kinda )?(?:peaceful|nice|good|like a relief|easier|better)\b",
    r"\bpermanent (?:nap|sleep|rest)\b", r"\b(?:rest|sleep) forever\b",
    r"\b(?:nobody|no one|noone|no1) would (?:even )?(?:notice|care|miss me) if i (?:disappeared|died|was gone|left|wasn'?t here|vanished)\b",
    r"\b(?:i'?m|im|i am|feel like) (?:just |such |only )?a burden (?:to|on|for) (?:everyone|everybody|my family|them|the people)\b",
    r"\bdon'?t see (?:a|any) future (?:for myself|for me)\b",
    r"\bfeel(?:ing)? like (?:ending|taking) (?:my|your) (?:own )?life\b", r"\bfeel(?:ing)? like killing (?:myself|yourself)\b",
    r"\b(?:er|a&e|a and e|hospital|emergency room) (?:for|about|because of) (?:my )?suicidal (?:thoughts|feelings)\b",
    r"\b(?:i'?ve|ive|i have) been (?:self ?harming|cutting(?: myself)?|hurting myself|burning myself)\b",
    r"\bhow (?:do i |to |can i )?(?:stop|quit) (?:cutting|self ?harming|hurting myself)\b",
    r"\bthink(?:ing)? about (?:killing|ending) (?:myself|yourself|my life|your life) (?:every ?day|all the time|constantly)\b",
    # imminent risk in the writer's words
    r"\b(?:i'?m|i am|im) not safe\b", r"\bscared (?:of )?what i (?:might|will|could) do(?: to myself)?\b",
    r"\bbefore i do something (?:i can'?t undo|stupid|permanent)\b", r"\bnobody (?:is going to|can|will) stop me\b",
    r"\bthis is my last (?:post|message|night|day|goodbye)\b",
    # asking how to survive thoughts or urges they have now
    r"\b(?:stop|resist|cope with|deal with|manage|handle|get rid of) (?:my )?(?:suicidal (?:thoughts|feelings|urges)|self ?harm (?:urges|thoughts)|urges to (?:cut|self ?harm|die)|the urge to (?:cut|die))\b",
    r"\b(?:thoughts|thinking) (?:of|about) (?:suicide|killing (?:myself|yourself)|ending (?:my|your) life|dying)\b.{0,30}\b(?:every ?day|all the time|constantly|lately|again|a lot)\b",
    r"\bsewer ?slide\b", r"\bsui ?side\b", r"\bsuicide ?(?:plan|note|letter)\b",
    rf"\b{_I} (?:am |m |feel |feeling |been |getting |get )?(?:so |really |very |extremely |pretty |kinda |kind of )?suicidal\b",
    r"\bfeel(?:ing)? (?:so |really |very )?suicidal\b",
    r"\bsuicidal (?:thoughts? |feelings? |urges? )?(?:again|tonight|today|rn|right now|are back|came back|won'?t stop)\b",
    r"\b(?:having|have|had|get|getting|got|fighting|with) suicidal (?:thoughts|feelings|urges|ideation)\b",
    r"\b(?:commit|committing|attempt|attempting) suicide\b",
    rf"\b{_WANT} (?:{_DIE})\b", r"\b(?:want|wanted|wanting) to (?:be )?dead\b",
    r"\bend(?:ing)? (?:it all|my (?:own )?life|my life|things for good|it tonight|it today|it soon)\b",
    r"\btake my (?:own )?life\b", r"\btaking my (?:own )?life\b",
    r"\bwish (?:i|id) (?:was|were|could be) dead\b", r"\bwish i (?:was|were)n'?t (?:alive|here|born)\b",
    r"\bwish i (?:was|were|had) never (?:been )?born\b", r"\bwish i could (?:just )?(?:die|disappear|not exist|sleep forever)\b",
    r"\b(?:never|not) (?:want to )?wake up\b", r"\bhope i (?:don'?t|never|do not) wake up\b",
    r"\bbetter off (?:dead|without me|if i (?:was|were)n'?t here|if i (?:was|were) gone)\b",
    r"\bno (?:reason|point) (?:to|in) (?:live|living|go on|going on|keep going|being alive|staying alive)\b",
    r"\bnothing (?:left )?to live for\b", r"\bdon'?t (?:want|wanna) to (?:live|be alive|exist|be here anymore|wake up)\b",
    r"\bdon'?t wanna (?:live|be alive|exist|be here|wake up)\b", r"\btired of (?:being alive|living|existing)\b",
    r"\bcan'?t (?:go on|keep going|do this) (?:anymore|any more|like this)\b", r"\bready to go\b.*\b(?:goodbye|bye)\b",
    r"\b(?:goodbye|bye) (?:forever|everyone|world|cruel world)\b", r"\bthis is (?:my )?goodbye\b",
    r"\b(?:wrote|writing|written|leave|leaving|left) (?:a|my) (?:suicide |goodbye |last )?(?:note|letter)s?\b(?!.*\b(?:story|book|character|novel)\b)",
    r"\bpros and cons of (?:dying|killing|leaving|ending|suicide|living)\b",
    r"\bgiv(?:e|ing) (?:away )?(?:all )?my (?:stuff|things|belongings|possessions) away\b",
    r"\b(?:given|gave|giving|give) away (?:all )?(?:of )?my (?:stuff|things|belongings|possessions|clothes|games)\b",
    r"\b(?:won'?t|will not|not going to|wont) be (?:around|here|alive) (?:much longer|for (?:much )?longer|for long|"
    r"anymore|next (?:week|month|year)|by (?:the weekend|monday|tomorrow|next \w+))\b",
    # self-harm now or recently
    rf"\b(?:cut|cutting|burn|burning|burnt|hurt|hurting|harm|harming|scratch|scratching|hit|hitting|punish|punishing|starve|starving) {_ME}\b",
    r"\bcutting again\b", r"\bcut again\b", r"\brelaps(?:e|ed|ing) (?:on|with|into)? ?(?:self ?harm|sh|cutting)\b",
    r"\bself ?harm(?:ed|ing)? (?:again|tonight|last night|today|yesterday)\b", r"\bsh (?:again|tonight|urges?)\b",
    r"\bself ?harm (?:urges?|thoughts) (?:again|tonight|are back|came back|today|rn|right now)\b",
    r"\b(?:self ?harm|sh|clean) streak (?:is )?(?:broken|over|ended|gone)\b", r"\bbroke my (?:clean |sh |self ?harm )?streak\b",
    r"\bhide (?:my|the) (?:scars|cuts|marks|wounds)\b",
    r"\burges? to (?:cut|self ?harm|sh|hurt myself|hurt me|burn)\b",
    # method and means in the first person
    rf"\b(?:took|taken|swallowed|downed|take|taking|swallow|swallowing) (?:\d+|all|all of|a (?:whole )?bunch of|a handful of|handfuls of|the whole (?:bottle|pack|box) of|every|so many|too many|way too many) (?:my |the |of (?:my|the) )?(?:\w+ )?{_METHOD_OBJECTS}\b",
    r"\b(?:overdos(?:e|ed|ing)|od(?:ing|ed)?) (?:on|tonight|again|with)\b", r"\boverdos(?:e|ed|ing)\b(?=.*\b(?:i|im|my|me)\b)",
    rf"\b(?:jump|jumping) (?:off|from) (?:a|the|this|that|my) (?:\w+ )?{_PLACES}\b",
    rf"\b(?:on|at|by) (?:the |a |this )?(?:edge of (?:the |a )?)?{_PLACES}\b.*\b(?:jump|end it|let go)\b",
    r"\bwaiting to jump\b",
    r"\b(?:rope|noose|belt|cord|cable|scarf) (?:is )?(?:around|round|on) my neck\b", rf"\bhang(?:ing)? {_ME}\b",
    r"\bhanging (?:is |would be )?(?:too |very |really )?painful\b", r"\bhow (?:long|painful) (?:does|is|would) (?:hanging|drowning)\b",
    r"\bdrink(?:ing)? (?:the )?(?:bleach|antifreeze|poison)\b", r"\bbuy(?:ing)? (?:a )?(?:rope|gun) (?:to|for)\b",
    r"\b(?:step|walk|jump|throw myself) (?:out )?in front of (?:a|the) (?:train|bus|car|truck|lorry)\b",
    r"\b(?:crash|drive|driving|steer) (?:my car )?(?:into|off) (?:a|the) (?:wall|tree|bridge|cliff|river|oncoming)\b",
    r"\b(?:gun|pistol|barrel) (?:to|in|against) my (?:head|mouth|temple)\b", r"\bshoot(?:ing)? myself\b",
    r"\bdrown(?:ing)? myself\b", r"\bslit(?:ting)? my (?:wrists|throat)\b",
    rf"\bhow (?:many|much) (?:\w+ )?(?:{_METHOD_OBJECTS}|pills) (?:\w+ ){{0,4}}(?:to|would it take to|does it take to|until i) (?:die|not wake up|kill|overdose|od|stop breathing)\b",
    r"\b(?:painless|quickest|easiest|best|surest|quick|easy) way(?:s)? to (?:die|kill myself|end it|end my life|go|unalive)\b",
    r"\bhow (?:do|can|would) i (?:kill myself|end it|end my life|die painlessly|unalive)\b",
]
# Ambiguous words that count only with a first-person intent frame and no hyperbole.
_AMBIGUOUS = [r"\bdie\b", r"\bdead\b", r"\bdisappear\b", r"\bgive up on (?:life|living|everything)\b", r"\bgone\b"]
_FIRST_PERSON = re.compile(r"\b(?:i|im|i'm|i am|me|my|myself|ive|i've|id|i'd)\b")
_INTENT = re.compile(r"\b(?:want|wanna|going to|gonna|plan|ready|wish|tonight|soon|decided)\b")

# What makes a match not about the writer's risk now.
_NEGATION = re.compile(
    r"\b(?:not|never|don'?t|do not|didn'?t|won'?t|wouldn'?t|would never|will never|no longer|not going to|"
    r"don'?t plan to|do not plan to|stopped|quit|isn'?t|aren'?t|without|instead of|no (?:intention|intentions|plan|plans|"
    r"urge|urges|desire|wish|way|need|thoughts?) (?:of|to|for)?|ever)\b(?:\W+\w+){0,3}\W*$"
)
_HYPERBOLE = re.compile(
    r"\b(?:so (?:good|funny|cute|hot|tasty|delicious|bad|cringe|cringey|embarrassing|awkward|boring|hard|long|loud)"
    r"(?: that)?(?: i| im| i'm)?|(?:of|from) (?:embarrassment|laughter|laughing|cringe|boredom|shame|excitement|happiness|cuteness)|"
    r"lol|lmao|lmfao|rofl|haha\w*|hehe|jk|just kidding|dying to|to death|killing it|killed it|killed me|killing me|"
    r"die on (?:this|that|the) hill|die of old age|(?:till|until|before) i die|makes? me want to die|without it|so full|"
    r"(?:want|wanna|going|gonna) to die (?:of|from|laughing|inside|a little)|"
    r"in (?:minecraft|fortnite|the game|game|gta|roblox|skyrim|elden ring)|my (?:character|sim|avatar))\b"
)
_EMOJI_JOKE = re.compile("[\U0001F602\U0001F923\U0001F480\U0001F62D]")  # 😂 🤣 💀 😭 as laughter
_OTHERS = re.compile(
    r"\b(?:he|she|they|his|her|their|him|them|my (?:friend|brother|sister|mom|mum|dad|father|mother|son|daughter|cousin|"
    r"uncle|aunt|partner|boyfriend|girlfriend|husband|wife|classmate|student|colleague|coworker)|someone|somebody|people|"
    r"a friend|the character|the author|the article|the study|the show|the film|the movie|the book|the episode)\b"
)
_NEWS_STUDY = re.compile(
    r"\b(?:rates?|statistics|stats|study|studies|research|researchers|survey|thesis|essay|dissertation|report(?:ed|s)?|"
    r"article|news|headline|awareness|prevention|hotline|helpline|lifeline|crisis line|988|samaritans|campaign|"
    r"documentary|podcast|lecture|course|training|safeguarding|policy|percent|%|died by suicide|lost (?:\w+ ){0,2}to suicide)\b"
)
_RECOVERY = re.compile(
    r"\b(?:\d+|one|two|three|four|five|six|a|an) (?:day|days|week|weeks|month|months|year|years) "
    r"(?:clean|free|sober|without|since|self harm free|sh free)\b|\bclean (?:from|of|since)\b|\bused to\b|"
    r"\b(?:recovered|in recovery|recovery|survived|survivor|got better|getting better|proud of myself|years ago|"
    r"when i was (?:younger|a teen|a kid|in school|\d+))\b"
)
_NOW = re.compile(r"\b(?:again|tonight|right now|rn|relaps\w*|urges? (?:are|is) back)\b")

_CRISIS_RE = [re.compile(p) for p in _CRISIS]
# indices of _CRISIS whose words are also everyday hyperbole ("I'm going to die", "can't go on like this")
_WEAK = frozenset(n for n, p in enumerate(_CRISIS) if p in (
    rf"\b{_WANT} (?:{_DIE})\b", r"\b(?:want|wanted|wanting) to (?:be )?dead\b",
    r"\b(?:never|not) (?:want to )?wake up\b",
    r"\bcan'?t (?:go on|keep going|do this) (?:anymore|any more|like this)\b",
    r"\btired of (?:being alive|living|existing)\b",
    rf"\b(?:kill(?:ing|ed)?|kil) {_ME}\b", r"\bkms\b",
))
_AMBIGUOUS_RE = [re.compile(p) for p in _AMBIGUOUS]

# Concern: distress, someone else at risk, past self-harm (not risk now).
_CONCERN = [re.compile(p) for p in [
    r"\b(?:friend|brother|sister|mom|mum|dad|partner|boyfriend|girlfriend|son|daughter|classmate|someone)\b.*"
    r"\b(?:suicidal|kill (?:him|her|them)sel(?:f|ves)|wants? to die|self ?harm\w*|cutting|overdos\w*|hurting (?:him|her|them)self)\b",
    r"\b(?:used to|years ago|in the past) .*\b(?:self ?harm|cut|cutting|suicidal|attempt\w*)\b",
    r"\b(?:hopeless|worthless|empty|numb|can'?t cope|falling apart|breaking down|panic attacks?|so alone|no one cares|"
    r"nobody cares|hate myself|i'?m a burden|so depressed|can'?t stop crying|cried myself to sleep)\b",
    r"\b(?:bullied|bullying|harass\w*)\b.*\b(?:me|my|i)\b",
]]


def _context_before(norm: str, start: int, chars: int = 40) -> str:
    return norm[max(0, start - chars):start]


def _suppressed(norm: str, match: re.Match[str], raw: str) -> bool:
    """Whether a crisis match is negated, hyperbole, about someone else, news or recovery."""
    before = _context_before(norm, match.start())
    if _NEGATION.search(before):
        return True
    window = norm[max(0, match.start() - 60): match.end() + 60]
    if _HYPERBOLE.search(window) or _EMOJI_JOKE.search(raw):
        return True
    if _RECOVERY.search(window) and not _NOW.search(window):
        return True
    sentence = _sentence_of(norm, match)
    if _NEWS_STUDY.search(sentence) and not _FIRST_PERSON_RISK.search(sentence):
        return True
    if not _FIRST_PERSON.search(sentence) and _OTHERS.search(sentence) and match.group(0) not in _SELF_FORMS:
        return True  # about someone else, a character or a story
    return False


_OBFUSCATED = re.compile(r"\bsuicid\w*")
_PLAIN_SUICIDE = re.compile(r"suicid")
_SELF_FORMS = frozenset({"kms", "ctb", "sewerslide", "sewer slide"})


_FIRST_PERSON_RISK = re.compile(r"\b(?:i|im|i'm|i am|ive|i've)\b (?:\w+ ){0,3}(?:want|wanna|going|gonna|plan|will|am|feel)\b")


def _sentence_of(norm: str, match: re.Match[str]) -> str:
    return norm[max(0, match.start() - 80): match.end() + 80]


@dataclass(frozen=True)
class LexiconReading:
    """``strong``: a statement of risk now on its own. ``weak``: words people also use as
    hyperbole ("I want to die"), which count only when the classifier agrees.
    ``concern``: distress, past self-harm or worry for someone else."""

    strong: bool = False
    weak: bool = False
    concern: bool = False
    helping: bool = False  # the writer is worried about someone else
    # risk words that the lexicon read as negated, hyperbole, news or recovery: the
    # classifier (which cannot read negation) then needs to be near certain
    suppressed: bool = False
    # share of first-person pronouns among first- and second-person ones: a text written
    # mostly to "you" (a supportive reply) is not the writer's own risk
    first_person_share: float = 1.0


def read_text(text: str) -> LexiconReading:
    """What the lexicon finds in a text (after normalisation, with the suppressors)."""
    if not text or not text.strip():
        return LexiconReading()
    norm = normalise(text)
    if _OBFUSCATED.search(norm) and not _PLAIN_SUICIDE.search(text.lower()):
        return LexiconReading(strong=True)  # spelled to get past filters: meant, not mentioned
    weak = suppressed = False
    for n, pattern in enumerate(_CRISIS_RE):
        for match in pattern.finditer(norm):
            if _suppressed(norm, match, text):
                suppressed = True
                continue
            if n not in _WEAK:
                return LexiconReading(strong=True)
            weak = True
    if not weak and _FIRST_PERSON.search(norm) and _INTENT.search(norm) and not _OTHERS.search(norm):
        for pattern in _AMBIGUOUS_RE:
            for match in pattern.finditer(norm):
                if not _suppressed(norm, match, text) and _INTENT.search(norm[max(0, match.start() - 40):match.start()]):
                    weak = True
    helping = bool(_CONCERN[0].search(norm))
    mine, yours = len(_MINE.findall(norm)), len(_YOURS.findall(norm))
    return LexiconReading(weak=weak, concern=helping or any(p.search(norm) for p in _CONCERN[1:]), helping=helping,
                          suppressed=suppressed and not weak,
                          first_person_share=mine / (mine + yours) if mine + yours else 1.0)


_MINE = re.compile(r"\b(?:i|im|i'm|me|my|myself|ive|i've|i'll|ill|id|i'd)\b")
_YOURS = re.compile(r"\b(?:you|your|youre|you're|yourself|u|ur)\b")


def lexicon_level(text: str) -> RiskLevel:
    """The lexicon's reading on its own (weak matches count as crisis, tuned for recall)."""
    reading = read_text(text)
    if reading.strong or reading.weak:
        return RiskLevel.CRISIS
    return RiskLevel.CONCERN if reading.concern else RiskLevel.NONE


def lexicon_match(text: str) -> bool:
    """True when the lexicon alone reads risk now."""
    return lexicon_level(text) is RiskLevel.CRISIS
