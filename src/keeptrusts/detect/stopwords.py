"""Words that tell prose from an e-mail address written out in words (`spelled`): common words
of English prose that come before `at` or after it (`look at this dot com`, `worked at the dot
com boom`), the words that make a word in -ing before `at` a verb (`job hunting at acme dot
com`), and the top-level domains such an address may end in."""

from __future__ import annotations

from keeptrusts.detect.phone import SUPPORTED_REGIONS

#: function words, and verbs, adjectives and adverbs prose puts before `at` (role mailboxes
#: such as `info`, `jobs`, `team`, `office`, `support` are not among them)
_PROSE = """
    a an the this that these those it its i me my mine we us our you your he him his she her
    they them their what which who whom whose where when why how here there some any each every
    all both either neither no not nor none one ones other another such own same so than too
    very just only also even still yet again once twice then now today tonight tomorrow
    yesterday ever never always often soon later early late and or but if as of to in on off
    into onto from for with without by about over under up down out away back around between
    through during before after above below near at is are was were be been being am do does
    did done doing have has had having can could will would shall should may might must
    look looks looked looking stare stared staring glance glanced laugh laughed smile smiled
    point pointed pointing aim aimed aiming hit arrive arrives arrived arriving work works
    worked working job stay stays stayed staying live lives lived living based located hosted
    available sold bought found find meet met meeting see seen saw visit visited start starts
    started starting begin began begun end ended held placed priced valued rated born died
    shot good bad better best worse worst great expert cheap fast slow least most first last
    home night noon dawn dusk midnight random scale risk large ease odds heart hand length
    stake rest peace war sea times time moment moments point all anywhere everywhere somewhere
    nowhere
"""
PROSE: frozenset[str] = frozenset(_PROSE.split())

#: verbs and nouns of prose, besides `PROSE`, after which a word in -ing is a verb or a noun
#: of the sentence (`went shopping at`, `house hunting at`, `I'm staying at`)
_GERUND_LEADS = """
    go goes gone went keep keeps kept stop stops stopped enjoy enjoys enjoyed love loves loved
    like likes liked hate hates hated spend spends spent try tries tried busy quit finish
    finished house window bargain im i'm you're we're they're he's she's it's
"""
#: words of prose that may name a mailbox after them (`write to billing at ...`, `sales or
#: marketing at ...`)
_ADDRESSING = "to for from or and with"
#: the words after which a word in -ing before `at` is prose (`job hunting at acme dot com`,
#: `we are hiring at ...`), not a mailbox (`marketing at acme dot com`)
BEFORE_GERUND: frozenset[str] = (PROSE | frozenset(_GERUND_LEADS.split())) - frozenset(
    _ADDRESSING.split()
)

#: generic top-level domains an address written out in words may end in; every country's
#: code (the regions libphonenumber knows, and `uk`, `eu`) counts too
_GENERIC = """
    com org net edu gov mil int info biz name pro mobi asia travel museum aero coop jobs tel
    io ai app dev tech online site store shop blog cloud email xyz club live news page art
"""
TLDS: frozenset[str] = frozenset(
    [*_GENERIC.split(), "uk", "eu", *(r.lower() for r in SUPPORTED_REGIONS if len(r) == 2)]
)
