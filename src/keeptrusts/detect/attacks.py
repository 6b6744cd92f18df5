"""The built-in prompt-injection patterns, by reason code.

Patterns are RE2, matched against lower-cased, normalised text (`normalize.variants`), so
they are written in lower case. `_W` allows a few filler words between key words. They
aim at the phrasing of attacks (an instruction to drop prior instructions, to disclose the
hidden prompt, to become an unrestricted persona, or a forged role boundary), not at the
words alone: "ignore the typos in my previous message" or "pretend you are a pirate" pass.
"""

# ruff: noqa: E501  (a pattern catalogue reads best one pattern per line)
from __future__ import annotations

_W = r"(?:[^\s.!?;:]+\s+){0,4}?"  # up to four filler words
_W2 = r"(?:[^\s.!?;:]+\s+){0,2}?"

#: verbs that only ever mean "stop obeying" something
_DISOBEY_VERB = (
    r"(?:ignore|ignoring|disregard|disregarding|forget|forgetting|bypass|override|overrule"
    r"|abandon|neglect|dismiss|throw out|set aside"
    r"|stop following|do not follow|don't follow|no longer follow)"
)
#: housekeeping verbs: ordinary for firewall rules, bucket policies or shell history
#: ("drop all existing rules from iptables"), an attack only on a model's own instructions
_CLEAR_VERB = r"(?:skip|drop|discard|erase|delete|clear|reset|scrap|cancel)"
_OVERRIDE_VERB = (
    r"(?:ignore|ignoring|disregard|disregarding|forget|forgetting|skip|bypass|override|overrule"
    r"|drop|abandon|discard|neglect|dismiss|erase|delete|clear|reset|scrap|throw out|set aside"
    r"|stop following|do not follow|don't follow|no longer follow|cancel)"
)
_PRIOR = (
    r"(?:previous|prior|above|earlier|preceding|former|foregoing|initial|original|old|existing"
    r"|system|developer|all|any|every|your|these|those|the above|everything)"
)
_RULES = (
    r"(?:instructions?|prompts?|rules?|directives?|guidelines?|constraints?|guardrails?"
    r"|restrictions?|programming|policies|policy|commands?|orders?|context|training|conditioning"
    r"|safety (?:rules|guidelines|filters?)|system message|limitations?|filters?)"
)
#: what only a model has: its instructions, prompt and guardrails (not rules, policies,
#: commands, filters or context, which firewalls, buckets, shells and queries have too)
_MODEL_RULES = (
    r"(?:instructions?|prompts?|directives?|guidelines?|guardrails?|programming|conditioning"
    r"|safety (?:rules|guidelines|filters?)|system message)"
)
#: earlier in the conversation (not "all", "any", "existing" or "old", which ops requests use)
_EARLIER = (
    r"(?:previous|prior|above|earlier|preceding|former|foregoing|initial|original|system"
    r"|developer|the above)"
)
#: limits put on a model (not commands, orders, policies, filters or context)
_BOUNDS = r"(?:rules?|restrictions?|constraints?|limitations?|training|conditioning)"
_PROMPT = r"(?:prompt|instructions?|message|rules|directives|guidelines|configuration|preamble)"

_ROMANCE_VERB = r"(?:ignora|ignore|olvida|olvide|esquece|esqueça|ignorar|desconsidera|omite)"
_ROMANCE_ALL = r"(?:todas?\s+|todos?\s+|tutte\s+)?"
_ROMANCE_RULES = r"(?:reglas|regras|regole)"
_ROMANCE_PRIOR = r"(?:anteriores|previas|precedentes|precedenti|prévias|del sistema)"
_FRENCH_VERB = r"(?:ignore[zs]?|oublie[zs]?|ne tiens pas compte des?)"
_GERMAN_VERB = r"(?:ignoriere|ignorieren sie|vergiss|vergessen sie|missachte)"
_GERMAN_PRIOR = r"(?:vorherigen|bisherigen|obigen|vorigen|früheren|frueheren)"

ATTACKS: dict[str, list[str]] = {
    "injection.instruction_override": [
        rf"\b{_DISOBEY_VERB}\s+{_W}{_PRIOR}\s+{_W2}{_RULES}\b",
        rf"\b{_CLEAR_VERB}\s+{_W}{_PRIOR}\s+{_W2}{_MODEL_RULES}\b",
        rf"\b{_CLEAR_VERB}\s+{_W}your\s+{_W2}{_RULES}\b",
        rf"\b{_CLEAR_VERB}\s+{_W}{_EARLIER}\s+{_W2}{_BOUNDS}\b",
        rf"\b{_OVERRIDE_VERB}\s+(?:all\s+)?(?:of\s+)?(?:the|all|any|those|these)\s+(?:[^\s.!?;:]+\s+)?{_RULES}\s+"
        r"(?:that\s+)?you(?:'ve| have| were| got)?\s+(?:been\s+)?(?:given|told|received|provided|shown)",
        r"\bforget\s+(?:about\s+)?(?:everything|all(?: of)? that|what)\s+(?:that\s+)?(?:you(?:'ve| have| were)?\s+)?"
        r"(?:been\s+)?(?:told|said|learned|instructed|above|before|previously)",
        r"\b(?:new|updated|revised|real|true|actual)\s+(?:system\s+)?(?:instructions?|rules|directives?)"
        r"\s*(?::|follow|are\b|below)",
        r"\bfrom now on,?\s+(?:you\s+)?(?:will|must|shall|are going to|should)\s+(?:only\s+)?"
        r"(?:ignore|disregard|obey|answer without|respond without|act as|behave as)",
        r"\byour\s+(?:new|real|true)\s+(?:task|goal|purpose|instructions?|role|objective)\s+(?:is|are)\b",
        r"\b(?:instead|rather),?\s+(?:of\s+(?:that|your\s+task)\s*,?\s*)?(?:ignore|disregard)\b",
        r"\boverride\s+(?:your|the|all)\s+(?:safety|content|security)\b",
        # es / pt / it / fr / de: instructions, or rules that are the model's ("tus reglas") or
        # earlier ones ("las reglas anteriores"), not the rules of a game or a manual
        rf"\b{_ROMANCE_VERB}\s+{_ROMANCE_ALL}(?:las\s+|as\s+|le\s+|os\s+|tus\s+|suas\s+)?"
        r"(?:instrucciones|instruções|instrucoes|istruzioni|indicaciones)"
        rf"(?:\s+{_ROMANCE_PRIOR})?",
        rf"\b{_ROMANCE_VERB}\s+{_ROMANCE_ALL}(?:tus|tuas|suas|sus|le tue)\s+{_ROMANCE_RULES}",
        rf"\b{_ROMANCE_VERB}\s+{_ROMANCE_ALL}(?:las\s+|as\s+|le\s+|os\s+)?{_ROMANCE_RULES}"
        rf"\s+{_ROMANCE_PRIOR}",
        rf"\b{_FRENCH_VERB}\s+(?:toutes\s+)?(?:les\s+|tes\s+|vos\s+|ces\s+)?"
        r"(?:instructions|consignes|directives)"
        r"(?:\s+(?:précédentes|precedentes|antérieures|anterieures|ci-dessus|du système))?",
        rf"\b{_FRENCH_VERB}\s+(?:toutes\s+)?(?:tes|vos)\s+(?:règles|regles)",
        rf"\b{_FRENCH_VERB}\s+(?:toutes\s+)?(?:les\s+|ces\s+)?(?:règles|regles)"
        r"\s+(?:précédentes|precedentes|antérieures|anterieures|ci-dessus|du système)",
        rf"\b{_GERMAN_VERB}\s+(?:bitte\s+)?(?:alle\s+)?(?:deine\s+|ihre\s+|die\s+)?"
        rf"(?:{_GERMAN_PRIOR}\s+)?(?:anweisungen|instruktionen|vorgaben)",
        rf"\b{_GERMAN_VERB}\s+(?:bitte\s+)?(?:alle\s+)?(?:deine|ihre)\s+(?:{_GERMAN_PRIOR}\s+)?"
        r"(?:regeln|befehle)",
        rf"\b{_GERMAN_VERB}\s+(?:bitte\s+)?(?:alle\s+)?(?:die\s+)?{_GERMAN_PRIOR}\s+"
        r"(?:regeln|befehle)",
        # ru / uk
        r"(?:игнорируй|игнорируйте|проигнорируй|забудь|забудьте|не обращай внимания на|отбрось)"
        r"\s+(?:все\s+)?(?:свои\s+|твои\s+|ваши\s+)?(?:предыдущие\s+|прежние\s+|старые\s+|системные\s+)?"
        r"(?:инструкции|указания|правила|команды|ограничения)",
        # zh / ja / ko
        r"(?:忽略|忽视|无视|忘记|忘掉|不要理会|無視|忽略掉)\s*(?:你|您)?\s*(?:之前|以前|上面|上述|先前|前面|所有|全部|此前|系统)"
        r"[^。！？\n]{0,12}?(?:指令|指示|说明|提示|规则|規則|命令|設定|设定|限制)",
        r"(?:以前|前|上記|これまで|すべて)の(?:指示|命令|ルール|指令|設定)を(?:すべて)?(?:無視|忘れ)",
        r"(?:이전|위의|모든|앞의)\s*(?:지시|지침|명령|규칙)(?:을|를|사항을)?\s*(?:모두\s*)?(?:무시|잊어)",
        # ar / hi / tr
        r"(?:تجاهل|انس)\s+(?:جميع\s+|كل\s+)?(?:التعليمات|الأوامر|القواعد)",
        r"(?:पिछले|पिछली|सभी)\s+(?:सभी\s+)?(?:निर्देशों|निर्देश|नियमों)\s+को\s+(?:अनदेखा|भूल)",
        r"\b(?:önceki|tüm|bütün)\s+(?:tüm\s+)?(?:talimatları|kuralları|komutları)\s+(?:unut|yok say|görmezden gel)",
    ],
    "injection.system_prompt_extraction": [
        r"\b(?:reveal|show|print|repeat|output|display|tell|give|leak|dump|disclose|share|recite"
        r"|spell out|write out|copy|paste|return|echo|list|summarize|translate)\s+(?:me\s+|us\s+)?"
        + _W2
        + r"(?:your|the|its)\s+(?:full\s+|entire\s+|exact\s+|complete\s+|original\s+|verbatim\s+)?"
        r"(?:(?:system|initial|original|hidden|secret|developer|internal|confidential|pre-?prompt|base)"
        r"\s*){1,2}" + _PROMPT,
        r"\bwhat\s+(?:is|are|was|were)\s+your\s+(?:\w+\s+){0,2}?(?:system|initial|original|hidden|secret"
        r"|developer)\s*" + _PROMPT,
        r"\b(?:repeat|print|output|copy|echo|reproduce|recite)\s+(?:back\s+)?(?:all\s+|everything\s+|"
        r"the\s+(?:text|words|content|lines|instructions)\s+)?(?:above|before this|prior to this|"
        r"from the (?:beginning|start)|since the (?:beginning|start))",
        r"\b(?:repeat|print|output)\s+(?:the\s+)?(?:words|text)\s+above\s+starting\s+with",
        r"\bwhat\s+(?:were\s+you|have\s+you\s+been)\s+(?:told|instructed|programmed)\s+(?:to do\s+)?"
        r"(?:before|initially|at the start|by (?:your|the) (?:developer|creator|system))",
        r"\b(?:muestra|revela|dime|imprime|mostre|revele|montre|révèle|revele|affiche|zeige|verrate"
        r"|gib)\s+(?:me\s+|mir\s+|moi\s+)?(?:tu|tus|seu|sua|seus|suas|ton|tes|votre|vos|dein|deinen|deine|ihren)"
        r"\s+(?:prompt|instrucciones|instruções|instructions|anweisungen|system-?prompt|systemprompt)"
        r"(?:\s+(?:del|do|du|de)\s+(?:sistema|système|systeme))?",
        r"(?:покажи|выведи|раскрой|расскажи|напиши)\s+(?:мне\s+)?(?:свой|свои|твой|твои|ваш)\s+"
        r"(?:системный\s+)?(?:промпт|инструкции|подсказку)",
        r"(?:显示|告诉我|输出|打印|泄露|重复)\s*(?:一下)?\s*(?:你|您)的\s*(?:系统|初始|原始|隐藏)?\s*(?:提示|指令|提示词|设定)",
        r"(?:システムプロンプト|初期指示)を(?:教えて|表示|出力|見せて)",
    ],
    "injection.roleplay_jailbreak": [
        r"\b(?:you are|you're|you will be|act as|acting as|pretend (?:to be|you are|you're)|"
        r"roleplay as|role-play as|become|behave (?:as|like)|simulate|respond as)\s+"
        r"(?:now\s+)?(?:an?\s+|the\s+)?(?:[^\s.!?]+\s+){0,3}?"
        r"(?:unrestricted|unfiltered|uncensored|jailbroken|unlimited|amoral|unethical|lawless"
        r"|unbound|unconstrained|evil|rogue|malicious)\b",
        r"\b(?:you are|you're|act as|acting as|pretend (?:to be|you are|you're)|roleplay as|behave as)\s+"
        r"(?:now\s+)?(?:an?\s+)?(?:[^\s.!?]+\s+){0,3}?(?:without|with no|free of|free from)\s+(?:any\s+)?"
        r"(?:[^\s.!?]+\s+)?(?:restrictions|rules|filters|limits|limitations|guidelines|censorship"
        r"|boundaries|ethics|morals)\b",
        r"\b(?:you are|you're)\s+(?:now\s+)?in\s+(?:developer|god|dan|jailbreak|unrestricted|evil|sudo"
        r"|unfiltered)\s+mode\b",
        r"\b(?:dan|stan|dude|aim|kevin|mongo tom)\s+(?:mode|prompt|jailbreak)\b",
        r"\bdo anything now\b",
        r"\byou are (?:now\s+)?dan\b",
        r"\b(?:developer|god|admin|debug|jailbreak|sudo|root|unrestricted|evil)\s+mode\s+"
        r"(?:is\s+)?(?:enabled|activated|unlocked|engaged)\b",
        r"\b(?:enable|activate|enter|switch to|turn on|unlock)\s+(?:the\s+)?(?:god|jailbreak"
        r"|unrestricted|dan|evil|unfiltered|uncensored)\s+mode\b",
        r"\bjailbr(?:ea|o)k(?:en|ing)?\b\s+(?:mode|prompt|yourself|the (?:model|ai|assistant))",
        r"\b(?:pretend|imagine|act as if|suppose)\s+(?:that\s+)?(?:you|you're|you are)\s+(?:have\s+|had\s+)?"
        r"(?:no|not bound by any|free (?:of|from))\s+(?:\w+\s+){0,2}?(?:restrictions|rules|guidelines|filters"
        r"|limitations|limits|boundaries|ethics|morals|censorship|policies|constraints)",
        r"\b(?:without|free (?:of|from)|no longer (?:bound|restricted) by|not bound by)\s+(?:any\s+)?"
        r"(?:\w+\s+)?(?:ethical|moral|content|safety|openai|anthropic)\s+(?:restrictions|guidelines|filters"
        r"|limitations|policies|constraints|rules)\b",
        r"\b(?:you have|you've)\s+(?:been\s+)?(?:freed|liberated|released|unchained)\s+from\b",
        r"\b(?:opposite|evil|shadow|uncensored)\s+(?:twin|version|persona|alter ego)\s+(?:of\s+)?(?:yourself|you|chatgpt|claude)",
        r"\b(?:stay in character|never break character)\b[^.]{0,80}\b(?:no matter|regardless|even if)",
        r"(?:actúa|actua|finge|agis|fais semblant|tu es maintenant|handle als|tu eres ahora|eres ahora)"
        r"\s+(?:como\s+|comme\s+)?(?:una?\s+|une\s+|ein\s+|eine\s+)?(?:ia|ai|ki|asistente|assistant)?\s*"
        r"(?:sin restricciones|sans restrictions|sans filtre|ohne einschränkungen|sin filtros|sem restrições)",
        r"(?:без ограничений|без цензуры|без фильтров).{0,40}(?:ты|вы|отвечай)|(?:ты|вы) теперь .{0,30}без (?:ограничений|цензуры)",
        r"(?:没有任何限制|不受任何限制|无限制|没有限制)的?\s*(?:ai|人工智能|助手|模式)",
    ],
    "injection.delimiter": [
        r"<\|im_start\|>\s*(?:system|assistant|developer|user)\b",
        r"<\|(?:system|start_header_id)\|>\s*(?:system|assistant|developer)?",
        r"[.!?\"')\]]\s*<\|(?:im_end|eot_id|endoftext)\|>",
        r"<\|(?:im_end|eot_id|endoftext)\|>\s*(?:now|new|system|user|assistant|<\|)",
        r"<</?sys>>",
        r"\[/?inst\]",
        r"\[/?(?:system|sys)(?:\s+(?:message|prompt))?\]\s*[:\-]?",
        r"</?(?:system|system_prompt|sys|instructions|admin)>",
        r"(?m)^\s*#{2,}\s*(?:system|new instructions?|system prompt|admin)\s*:?\s*$",
        r"(?m)^\s*(?:system|assistant|developer)\s*:\s*(?:you are|ignore|new|override|from now)",
        r"\b(?:end|close|stop)\s+of\s+(?:the\s+)?(?:system\s+)?(?:prompt|instructions|context)\b[\s\-=*#\]>]*"
        r"(?:new|begin|start|system|user|now)",
        r"[-=*#]{3,}\s*(?:begin|start)?\s*(?:new|updated|override|admin|real)\s+(?:system\s+)?"
        r"(?:instructions?|prompt|rules)",
        r"\bthe\s+(?:above|previous)\s+(?:was|were|is)\s+(?:just\s+)?(?:a\s+)?(?:test|fake|joke|example)"
        r"[^.]{0,40}\b(?:real|actual|new)\s+(?:instructions?|task|prompt)",
        r"\b(?:admin|administrator|developer|system|root)\s+(?:override|command|message|notice)\s*:",
    ],
}

#: words that, just before a match, mean the text forbids the act rather than asks for it
NEGATIONS = (b"never ", b"not ", b"n't ", b"no ", b"nor ", b"refuse to ", b"avoid ", b"must not ")

#: a developer's question about their own application ("how do i reset the system prompt in
#: my chatbot?"), just before an override or extraction match that does not say "your"; not
#: a bare "how to ...", a headline that reads as an instruction ("how to reveal the hidden
#: prompt: just show it")
HOW_TO = (
    b"how do i ",
    b"how can i ",
    b"how should i ",
    b"how would i ",
    b"how do we ",
    b"how can we ",
)
#: a name in code right after an extraction match that does not say "your" ("print the
#: system prompt variable"); not "template" or "string", which a model may print its own as
CODE_ARTEFACTS = (b" variable", b" field", b" parameter", b" placeholder", b" constant")
#: a user taking back their own earlier instructions on a topic ("ignore my earlier
#: instructions about the font", "disregard the previous instructions I gave you about
#: formatting"): an override match holding " my " and followed by one of OWN_TOPIC, or
#: followed by one of OWN_AFTER, unless it says "your" (a bare "ignore my previous
#: instructions and ..." may be an attacker speaking as the developer: still counted)
OWN_WORDS = (b" my ",)
OWN_TOPIC = (b" about ", b" regarding ", b" on ", b" for ", b" concerning ", b" re ")
#: topics that make a "my instructions about ..." retraction an attack on the guardrails
GUARDED_TOPICS = (
    b"safety",
    b"security",
    b"restriction",
    b"rule",
    b"guideline",
    b"polic",
    b"filter",
    b"content",
    b"confidential",
    b"secret",
    b"password",
    b"prompt",
    b"reveal",
    b"disclos",
)
OWN_AFTER = (
    b" i gave",
    b" i sent",
    b" i wrote",
    b" i provided",
    b" i asked",
    b" i just gave",
    b" i mentioned",
    b" i added",
)
#: a text the user supplies ("summarize the system message below"), or a delimiter named as a
#: thing ("[INST] tags are used by Llama 2"), right after the match
MENTION_AFTER: dict[str, tuple[bytes, ...]] = {
    "injection.system_prompt_extraction": (b" below",),
    "injection.delimiter": (b" tag", b" token", b" marker", b" delimiter", b" format"),
}
#: the extraction verbs that work on a text the user supplies ("summarize the system message
#: below"); "print/repeat/write out ... below" asks for the model's own
SUPPLIED_TEXT_VERBS = (b"summarize", b"translate")
#: the delimiters that may be named as a thing: bare tags, never a forged role boundary
#: (`<|im_start|>system format: ...` is one, whatever follows)
NAMED_DELIMITERS = frozenset(
    (b"[inst]", b"[/inst]", b"<<sys>>", b"<</sys>>", b"<system>", b"</system>", b"[system]")
)
#: the reasons a HOW_TO question may precede (not role-play or forged delimiters)
HOW_TO_REASONS = frozenset({"injection.instruction_override", "injection.system_prompt_extraction"})

#: a question about a jailbreak's or an attack's name ("what is the dan prompt", "explain
#: what a jailbreak prompt is"): right before the match, once an article is left out
WHAT_IS = (
    b"what is ",
    b"what's ",
    b"what are ",
    b"what was ",
    b"what were ",
    b"explain what ",
    b"meaning of ",
)
ARTICLES = (b"the ", b"a ", b"an ")
#: the reasons a WHAT_IS question may precede (not forged delimiters)
WHAT_IS_REASONS = HOW_TO_REASONS | {"injection.roleplay_jailbreak"}
