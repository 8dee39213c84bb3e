"""Every user-facing string, per language. Add a language by adding a dictionary."""

from __future__ import annotations

from typing import Final

EN: Final[dict[str, str]] = {
    "start": (
        "Hello {name}! I write text one character at a time with a small neural network "
        "(a character-level LSTM) trained on {corpus}.\n\n"
        "Send /write followed by the beginning of a text, and I will continue it.\n"
        "Example: /write في صباح يوم جميل\n\n"
        "/temp sets how adventurous I am (currently {temperature}).\n"
        "/help lists every command."
    ),
    "help": (
        "Commands:\n"
        "/write <text> — continue your text ({length} characters; up to {max_seed} "
        "characters of your own).\n"
        "/temp <value> — set the temperature, from {tmin} to {tmax}. Lower is safer and "
        "more repetitive, higher is more varied with more typos. 1 is the model's own "
        "distribution. Yours: {temperature}.\n"
        "/temp — show your temperature.\n"
        "/history — your last generations.\n"
        "/forget — delete your history and preferences.\n"
        "/help — this message."
    ),
    "write_usage": (
        "Send the beginning of a text after the command, for example:\n/write في صباح يوم جميل"
    ),
    "seed_too_long": (
        "That seed is {length} characters long; the limit is {limit}. Please send a shorter one."
    ),
    "seed_unknown": (
        "I don't know any of the characters in that seed: I was trained on a different "
        "alphabet. Try text in the language of my training corpus."
    ),
    "dropped_note": "Note: I don't know these characters, so I left them out: {chars}",
    "busy": "I'm busy with many requests right now. Please try again in a moment.",
    "restarting": "I'm restarting right now. Please try again in a minute.",
    "temp_show": (
        "Your temperature is {temperature} (allowed: {tmin} to {tmax}, default {default})."
    ),
    "temp_set": "Temperature set to {temperature}.",
    "temp_not_number": (
        "“{value}” is not a number. Send a value between {tmin} and {tmax}, e.g. /temp 0.8"
    ),
    "temp_out_of_range": (
        "{value} is out of range. The temperature must be between {tmin} and {tmax}."
    ),
    "history_empty": "You have no generations yet. Try /write followed by some text.",
    "history_header": "Your last {count} generations, newest first:",
    "history_item": "{index}. {when} · temperature {temperature}\n   {seed}",
    "forget_confirm": (
        "This deletes your {count} stored generations and your preferences. Are you sure?"
    ),
    "forget_yes": "Yes, delete",
    "forget_no": "Cancel",
    "forget_done": "Done: I deleted {count} generations and your preferences.",
    "forget_cancelled": "Cancelled: nothing was deleted.",
    "forget_not_yours": "This button belongs to someone else.",
    "error": "Sorry, something went wrong on my side. Please try again.",
    "not_allowed": "Sorry, you are not allowed to use this command.",
    "cmd_write": "Continue a text",
    "cmd_temp": "Set or show the sampling temperature",
    "cmd_history": "Your last generations",
    "cmd_forget": "Delete your data",
    "cmd_help": "How to use the bot",
    # --- issue 14 (the writing experience): buttons, /length, inline mode
    "btn_again": "🔁 Again",
    "btn_colder": "❄️ Colder",
    "btn_hotter": "🔥 Hotter",
    "btn_more": "➕ Continue",
    "button_expired": "This text is no longer stored, so its buttons have expired. "
    "Send /write again.",
    "button_not_yours": "Only the person who asked for this text can use its buttons.",
    "button_coldest": "This text is already at the lowest temperature ({temperature}).",
    "button_hottest": "This text is already at the highest temperature ({temperature}).",
    "write_reply_empty": (
        "The message you replied to has no text I can continue. Reply to a text message, "
        "or send /write followed by the beginning of a text."
    ),
    "start_length": "/length sets how long my texts are (currently {length} characters).",
    "help_length": (
        "/length <n> — how many characters I write, from {lmin} to {lmax}. Yours: {length}.\n"
        "/write as a reply to a text message continues that message.\n"
        "The buttons under a text: again (same beginning), colder or hotter (once, without "
        "changing your temperature), continue (from where it ends).\n"
        "In any chat, type @{bot} and the beginning of a text to pick one of three "
        "continuations."
    ),
    "temp_length": "Your texts are {length} characters long (/length to change).",
    "length_show": "Your texts are {length} characters long (allowed: {lmin} to {lmax}, "
    "default {default}).",
    "length_set": "Length set to {length} characters.",
    "length_not_number": (
        "“{value}” is not a whole number. Send a length from {lmin} to {lmax}, e.g. /length 300"
    ),
    "length_out_of_range": "{value} is out of range. The length must be from {lmin} to {lmax}.",
    "cmd_length": "Set or show the length of texts",
    "inline_usage_title": "Type the beginning of a text",
    "inline_usage": "I will offer three continuations of it at three temperatures.",
    "inline_result_title": "Temperature {temperature}",
    "inline_refused_title": "Not now",
    "inline_too_long": "That beginning is {length} characters long; the limit is {limit}.",
    "inline_dropped": "I left out characters I don't know: {chars}",
    "history_inline_offer": "(offered inline, not chosen)",
    # --- end of issue 14
    "corpus_default": "original Arabic prose",
    # issue 9: start-up problems the admins are told about once the bot is up.
    "startup_notice": "Start-up notice: {notice}",
    "cmd_retrain": "Admin: retrain on new text",
    "cmd_models": "Admin: list model versions",
    "cmd_use": "Admin: activate a model version",
    "cmd_generations": "Admin: review generations",
    "cmd_export": "Admin: export generations as CSV",
    "cmd_stats": "Admin: usage and model statistics",
    # --- issue 9 (surface hardening) ---
    "history_undelivered": "(not delivered: Telegram did not confirm this reply)",
    # --- issue 11 (fair use)
    "limit_pending": (
        "You already have {count} texts being written; wait for them, then send the next one."
    ),
    "limit_rate": (
        "You are sending requests faster than I can write (at most {rate} a minute). "
        "Please try again in {seconds} s."
    ),
    "access_blocked": (
        "Sorry, you can't use this bot. If you think this is a mistake, contact its operator."
    ),
    "access_not_allowed": "Sorry, this bot is private: only invited users can use it.",
    "access_usage_allow": "Usage: /allow <user id>, e.g. /allow 123456789",
    "access_usage_block": "Usage: /block <user id> [reason], e.g. /block 123456789 spam",
    "access_usage_unblock": "Usage: /unblock <user id>, e.g. /unblock 123456789",
    "access_allowed": "User {user_id} may use the bot now.",
    "access_allowed_open": "User {user_id} is on the allow list (ACCESS=open: everyone may use "
    "the bot anyway).",
    "access_still_blocked": "Note: user {user_id} is still blocked; /unblock {user_id} lifts it.",
    "access_blocked_done": "User {user_id} is blocked{reason}. Their messages are ignored now.",
    "access_block_admin": "User {user_id} is an admin (ADMIN_IDS); admins can't be blocked.",
    "access_unblocked": "User {user_id} is unblocked.",
    "access_not_blocked": "User {user_id} was not blocked.",
    "users_header": "Users {first}–{last} of {total}, most recently active first:",
    "users_blocked_header": "Blocked users {first}–{last} of {total}:",
    "users_none": "No users yet.",
    "users_none_blocked": "No one is blocked.",
    "users_item": "{user_id} · {name} · {generations} generations · last active {when}",
    "users_item_blocked": "   blocked {when}: {reason}",
    "users_never": "never",
    "cmd_allow": "Admin: let a user in (ACCESS=allowlist)",
    "cmd_block": "Admin: block a user",
    "cmd_unblock": "Admin: unblock a user",
    "cmd_users": "Admin: list users (or blocked ones)",
    # --- end of issue 11
    # --- issue 12 part b: replicas in /models
    "models_replicas": "Replicas serving now (heartbeat within {window} s):",
    "models_replica": "{host} pid {pid}: version {version}, seen {seconds} s ago",
    # --- end of issue 12 part b
    "unknown_command": "I don't know that command. Send /help to see what I can do.",
    "plain_text_hint": (
        "To have me continue a text, send /write followed by it. /help lists every command."
    ),
    "forget_expired": "This confirmation has expired. Send /forget again.",
    # --- issue 13: how a /retrain trained, and how good the result is
    "retrain_finetuned": (
        "Fine-tuned from version {version}; its vocabulary grew by {added} characters ({chars})."
    ),
    "retrain_fresh": "Trained from scratch.",
    "retrain_quality": (
        "On the new text's validation tail, in bits per character (read as one stream, "
        "lower is better): new model {model}, active model {active}, Kneser-Ney "
        "{order}-gram baseline {ngram}."
    ),
    "retrain_not_below_ngram": (
        "The new model is NOT better than the n-gram baseline (by {gap} bits/char): the "
        "text is probably too short or too repetitive for the network to learn more "
        "than character counts."
    ),
    "retrain_methods_usage": (
        "Add finetune to start from the active model's weights (new characters are added "
        "to its vocabulary), or fresh to train from scratch: /retrain finetune, "
        "/retrain append fresh."
    ),
    # --- end of issue 13
}

AR: Final[dict[str, str]] = {
    "start": (
        "مرحبا {name}! أكتب النص حرفا بعد حرف بشبكة عصبية صغيرة (LSTM على مستوى الحروف) "
        "تدربت على {corpus}.\n\n"
        "أرسل /write ثم بداية نص، وسأكمله لك.\n"
        "مثال: /write في صباح يوم جميل\n\n"
        "الأمر /temp يضبط مقدار المغامرة في الكتابة (قيمتك الآن {temperature}).\n"
        "الأمر /help يعرض كل الأوامر."
    ),
    "help": (
        "الأوامر:\n"
        "/write <نص> — أكمل نصك ({length} حرفا؛ وحتى {max_seed} حرفا من نصك).\n"
        "/temp <قيمة> — اضبط درجة الحرارة بين {tmin} و{tmax}. القيمة المنخفضة أكثر أمانا "
        "وتكرارا، والمرتفعة أكثر تنوعا وأخطاء. القيمة 1 هي توزيع النموذج نفسه. قيمتك: "
        "{temperature}.\n"
        "/temp — اعرض درجة حرارتك.\n"
        "/history — آخر ما كتبته لك.\n"
        "/forget — احذف سجلك وتفضيلاتك.\n"
        "/help — هذه الرسالة."
    ),
    "write_usage": "أرسل بداية نص بعد الأمر، مثلا:\n/write في صباح يوم جميل",
    "seed_too_long": "طول النص {length} حرفا، والحد الأقصى {limit}. أرسل نصا أقصر من فضلك.",
    "seed_unknown": (
        "لا أعرف أيا من حروف هذا النص، فقد تدربت على أبجدية أخرى. جرب نصا بلغة مدونة تدريبي."
    ),
    "dropped_note": "ملاحظة: لا أعرف هذه الحروف فحذفتها: {chars}",
    "busy": "لدي طلبات كثيرة الآن. حاول مرة أخرى بعد لحظات من فضلك.",
    "restarting": "أعيد التشغيل الآن. حاول مرة أخرى بعد دقيقة من فضلك.",
    "temp_show": "درجة حرارتك {temperature} (المسموح من {tmin} إلى {tmax}، والافتراضي {default}).",
    "temp_set": "ضبطت درجة الحرارة على {temperature}.",
    "temp_not_number": "«{value}» ليس رقما. أرسل قيمة بين {tmin} و{tmax}، مثلا: /temp 0.8",
    "temp_out_of_range": "القيمة {value} خارج المجال. يجب أن تكون درجة الحرارة بين {tmin} و{tmax}.",
    "history_empty": "لم أكتب لك شيئا بعد. جرب /write ثم بداية نص.",
    "history_header": "آخر {count} نصوص كتبتها لك، الأحدث أولا:",
    "history_item": "{index}. {when} · الحرارة {temperature}\n   {seed}",
    "forget_confirm": "سيحذف هذا {count} نصا محفوظا وتفضيلاتك. هل أنت متأكد؟",
    "forget_yes": "نعم، احذف",
    "forget_no": "إلغاء",
    "forget_done": "تم: حذفت {count} نصا وتفضيلاتك.",
    "forget_cancelled": "ألغيت العملية: لم يحذف شيء.",
    "forget_not_yours": "هذا الزر يخص مستخدما آخر.",
    "error": "عذرا، حدث خطأ من جهتي. حاول مرة أخرى من فضلك.",
    "not_allowed": "عذرا، لا يسمح لك باستخدام هذا الأمر.",
    "cmd_write": "أكمل نصا",
    "cmd_temp": "اضبط درجة الحرارة أو اعرضها",
    "cmd_history": "آخر ما كتبته لك",
    "cmd_forget": "احذف بياناتك",
    "cmd_help": "طريقة الاستخدام",
    # --- issue 14 (the writing experience): buttons, /length, inline mode
    "btn_again": "🔁 مرة أخرى",
    "btn_colder": "❄️ أبرد",
    "btn_hotter": "🔥 أسخن",
    "btn_more": "➕ تابع",
    "button_expired": "لم يعد هذا النص محفوظا، فانتهت صلاحية أزراره. أرسل /write مرة أخرى.",
    "button_not_yours": "أزرار هذا النص لمن طلبه فقط.",
    "button_coldest": "هذا النص بأدنى درجة حرارة مسموحة ({temperature}).",
    "button_hottest": "هذا النص بأعلى درجة حرارة مسموحة ({temperature}).",
    "write_reply_empty": (
        "الرسالة التي رددت عليها ليس فيها نص أكمله. رد على رسالة نصية، أو أرسل /write ثم بداية نص."
    ),
    "start_length": "الأمر /length يضبط طول نصوصي (الآن {length} حرفا).",
    "help_length": (
        "/length <عدد> — كم حرفا أكتب، من {lmin} إلى {lmax}. قيمتك: {length}.\n"
        "الأمر /write ردا على رسالة نصية يكمل تلك الرسالة.\n"
        "الأزرار تحت كل نص: مرة أخرى (البداية نفسها)، أبرد أو أسخن (مرة واحدة دون تغيير "
        "درجتك)، تابع (من حيث انتهى).\n"
        "في أي محادثة، اكتب @{bot} ثم بداية نص لتختار واحدا من ثلاثة نصوص."
    ),
    "temp_length": "طول نصوصك {length} حرفا (غيّره بالأمر /length).",
    "length_show": "طول نصوصك {length} حرفا (المسموح من {lmin} إلى {lmax}، والافتراضي {default}).",
    "length_set": "ضبطت الطول على {length} حرفا.",
    "length_not_number": (
        "«{value}» ليس عددا صحيحا. أرسل طولا من {lmin} إلى {lmax}، مثلا /length 300"
    ),
    "length_out_of_range": "القيمة {value} خارج النطاق. يجب أن يكون الطول من {lmin} إلى {lmax}.",
    "cmd_length": "اضبط طول النصوص أو اعرضه",
    "inline_usage_title": "اكتب بداية نص",
    "inline_usage": "سأقترح ثلاثة نصوص تكملها بثلاث درجات حرارة.",
    "inline_result_title": "درجة الحرارة {temperature}",
    "inline_refused_title": "ليس الآن",
    "inline_too_long": "طول هذه البداية {length} حرفا؛ والحد {limit}.",
    "inline_dropped": "حذفت حروفا لا أعرفها: {chars}",
    "history_inline_offer": "(اقتُرح في الوضع المضمَّن ولم يُختر)",
    # --- end of issue 14
    "corpus_default": "نصوص عربية أصلية",
    # --- issue 9 (surface hardening) ---
    "history_undelivered": "(لم يصل: لم يؤكد تيليجرام وصول هذا الرد)",
    # --- issue 11 (fair use)
    "limit_pending": "لدي {count} نصوص أكتبها لك الآن؛ انتظرها ثم أرسل التالي.",
    "limit_rate": (
        "ترسل الطلبات أسرع مما أستطيع الكتابة (الحد {rate} في الدقيقة). "
        "حاول مرة أخرى بعد {seconds} ثانية من فضلك."
    ),
    "access_blocked": "عذرا، لا يمكنك استخدام هذا البوت. إن كان هذا خطأ فتواصل مع مشغله.",
    "access_not_allowed": "عذرا، هذا البوت خاص: يستخدمه المدعوون فقط.",
    "access_usage_allow": "الاستخدام: /allow <رقم المستخدم>، مثلا: /allow 123456789",
    "access_usage_block": "الاستخدام: /block <رقم المستخدم> [السبب]، مثلا: /block 123456789 spam",
    "access_usage_unblock": "الاستخدام: /unblock <رقم المستخدم>، مثلا: /unblock 123456789",
    "access_allowed": "يمكن للمستخدم {user_id} استخدام البوت الآن.",
    "access_allowed_open": "أضيف المستخدم {user_id} إلى قائمة السماح (الوضع مفتوح: يستخدم "
    "الجميع البوت على أي حال).",
    "access_still_blocked": (
        "ملاحظة: المستخدم {user_id} ما زال محظورا؛ /unblock {user_id} يرفع الحظر."
    ),
    "access_blocked_done": "حظرت المستخدم {user_id}{reason}. ستُتجاهل رسائله من الآن.",
    "access_block_admin": "المستخدم {user_id} مشرف (ADMIN_IDS)؛ لا يمكن حظر المشرفين.",
    "access_unblocked": "رفعت الحظر عن المستخدم {user_id}.",
    "access_not_blocked": "المستخدم {user_id} لم يكن محظورا.",
    "users_header": "المستخدمون {first}–{last} من {total}، الأحدث نشاطا أولا:",
    "users_blocked_header": "المحظورون {first}–{last} من {total}:",
    "users_none": "لا مستخدمين بعد.",
    "users_none_blocked": "لا أحد محظور.",
    "users_item": "{user_id} · {name} · {generations} نصا · آخر نشاط {when}",
    "users_item_blocked": "   حُظر {when}: {reason}",
    "users_never": "أبدا",
    "cmd_allow": "للمشرف: اسمح لمستخدم (وضع القائمة)",
    "cmd_block": "للمشرف: احظر مستخدما",
    "cmd_unblock": "للمشرف: ارفع الحظر عن مستخدم",
    "cmd_users": "للمشرف: قائمة المستخدمين (أو المحظورين)",
    # --- end of issue 11
    # --- issue 12 part b: replicas in /models
    "models_replicas": "النسخ العاملة الآن (نبضها خلال {window} ث):",
    "models_replica": "{host} عملية {pid}: الإصدار {version}، آخر نبض قبل {seconds} ث",
    # --- end of issue 12 part b
    # issue 9
    "startup_notice": "تنبيه عند بدء التشغيل: {notice}",
    "unknown_command": "لا أعرف هذا الأمر. أرسل /help لترى ما أستطيع فعله.",
    "plain_text_hint": "لأكمل لك نصا، أرسل /write ثم النص. الأمر /help يعرض كل الأوامر.",
    "forget_expired": "انتهت صلاحية هذا التأكيد. أرسل /forget مرة أخرى.",
    # --- issue 13
    "retrain_finetuned": (
        "ضُبط النموذج انطلاقا من الإصدار {version}؛ زادت مفرداته {added} حرفا ({chars})."
    ),
    "retrain_fresh": "دُرّب النموذج من الصفر.",
    "retrain_quality": (
        "على ذيل التحقق من النص الجديد، بالبت لكل حرف (مقروءا تيارا واحدا، والأقل أفضل): "
        "النموذج الجديد {model}، النموذج النشط {active}، نموذج كنيسر-ناي ذو {order} أحرف {ngram}."
    ),
    "retrain_not_below_ngram": (
        "النموذج الجديد ليس أفضل من نموذج الـ n-gram (يزيد عنه {gap} بت لكل حرف): النص على "
        "الأرجح أقصر أو أكثر تكرارا من أن تتعلم منه الشبكة أكثر من عدّ الحروف."
    ),
    "retrain_methods_usage": (
        "أضف finetune للانطلاق من أوزان النموذج النشط (تضاف الحروف الجديدة إلى مفرداته)، "
        "أو fresh للتدريب من الصفر: /retrain finetune أو /retrain append fresh."
    ),
    # --- end of issue 13
}

LANGUAGES: Final[dict[str, dict[str, str]]] = {"en": EN, "ar": AR}
DEFAULT_LANGUAGE: Final = "en"


def language_for(code: str | None) -> str:
    """Telegram sends IETF tags such as "ar" or "ar-EG"; unknown ones fall back to English."""
    base = (code or "").split("-")[0].lower()
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def t(lang: str | None, key: str, **values: object) -> str:
    table = LANGUAGES.get(language_for(lang), EN)
    return table.get(key, EN[key]).format(**values)
