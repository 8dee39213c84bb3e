"""Every user-facing string, per language. Add a language by adding a dictionary."""

from __future__ import annotations

import re
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
    # --- issue 14 item 5: admin-facing strings (retraining, /models, /generations, /stats)
    "n_a": "n/a",
    "rt_starting": "Training run #{run}: starting…",
    "rt_progress": (
        "Training run #{run}\n{bar} {percent}\nstep {step}/{total} · loss {loss}{val}\n"
        "elapsed {elapsed} · ETA {eta}"
    ),
    "rt_progress_val": " · val {val}",
    "rt_registering": "Training run #{run}: training done, registering the new model…",
    "rt_waiting_db": "Training run #{run}: waiting for the database ({cause}); retrying…",
    "rt_final_done": "Training run #{run}: done.",
    "rt_final_state": "Training run #{run}: {state}.",
    "rt_failed": "Training run #{run} failed: {cause}.",
    "rt_cancelled": "Training run #{run} was cancelled.",
    "rt_cancelled_why": "Training run #{run} was cancelled ({reason}).",
    "rt_keeps_current": "The current model keeps serving.",
    "rt_keeps_version": "Version {version} keeps serving.",
    "rt_btn_activate": "Activate anyway",
    "rt_btn_discard": "Discard",
    "rt_btn_train": "Train anyway",
    "rt_ended_as": "Training run #{run} ended as {state}.",
    "rt_version_gone": "Training run #{run} finished; its version was discarded since.",
    "rt_finished": "Training run #{run} finished.",
    "rt_now_active": "Version {version} is now active.",
    "rt_alphabet": (
        "Version {version} was stored but NOT activated: it knows only {share} of the "
        "characters of the active version {serving}."
    ),
    "rt_worse": (
        "Version {version} is worse than the active version {serving}, so it was stored but "
        "not activated."
    ),
    "rt_stored": "Version {version} was stored but not activated.",
    "rt_val": "Validation loss: new {new} vs active {old} nats/char",
    "rt_not_compared": (
        "(the active model knows only {coverage} of the new text's characters, so it was not "
        "compared)"
    ),
    "rt_sample": "Sample from version {version}:",
    "rt_no_sample": "(no sample: {error})",
    "rt_seeds_unchecked": "(could not check users' seeds: {error})",
    "rt_seeds_fine": "No user's seed of the last 30 days uses a character it does not know.",
    "rt_seeds_warning": (
        "Warning: {count} users' seeds of the last 30 days use characters it does not know, "
        'so it would no longer understand them (users {users}). Press "{button}" only if '
        "that is intended."
    ),
    "rt_curve": "Loss curve of training run #{run}",
    "rt_none_running": "No training is running.",
    "rt_serving_current": "The current model",
    "rt_serving_version": "Version {version}",
    "rt_cancel_done": "Training run #{run} was cancelled. {serving} keeps serving.",
    "rt_cancel_after_success": (
        "Too late to cancel training run #{run}: it had already finished training. {serving} "
        "is now active; /use <id> switches versions (see /models)."
    ),
    "rt_cancel_ended": "Training run #{run} had already ended ({state}).",
    "rt_cancel_finishing": (
        "Too late to cancel training run #{run}: it finished training and its model is being "
        "registered; you will get its outcome. {serving} serves for now."
    ),
    "rt_busy": "A training is already running:",
    "rt_busy_run": "A training is already running: run #{run} ({state}).",
    "rt_usage": (
        "Usage: /retrain (with a .txt document or as a reply), /retrain append, /retrain cancel."
    ),
    "rt_no_corpus": "There is no current corpus to retrain on; send a text.",
    "rt_no_corpus_append": "There is no current corpus to append to.",
    "rt_cannot_train": "I can't train on this text: {error} Nothing was changed.",
    "rt_cannot_store": "I could not store the text: {error}. Nothing was changed.",
    "rt_already_trained": (
        "This text ({chars} characters) was already trained with the same settings in run "
        "#{run} (version {version}). Train again anyway?"
    ),
    "rt_corpus_gone": "That corpus no longer exists; send the text again.",
    "rt_training_on": "Training on corpus #{corpus} ({chars} characters): starting…",
    "rt_file_too_big": "The file is {size} bytes; the limit is {limit} bytes. Send a shorter text.",
    "rt_file_over_20mb": (
        "Telegram does not let bots download files over 20 MB, so I cannot read this one. The "
        "limit is {limit} bytes; send a shorter text."
    ),
    "rt_file_refused": "Telegram could not give me the file ({error}). Send it again.",
    "rt_file_over_limit": "The file is over the limit of {limit} bytes. Send a shorter text.",
    "rt_download_failed": "I could not download the file: {error}. Send it again.",
    "rt_reply_to_text": (
        "Reply to a .txt document or a text message, or attach the text as a document."
    ),
    "models_none": "No model versions yet.",
    "models_header": "Model versions, newest first:",
    "models_item": (
        "#{version}{active} · {when} · {corpus} ({chars} chars) · vocab {vocab} · val loss {val}"
    ),
    "models_active": " ✅ active",
    "models_corpus": "corpus #{corpus}",
    "models_corpus_unknown": "corpus ?",
    "models_footer": "Switch with /use <id>.",
    "use_usage": "Usage: /use <version id>, e.g. /use 2 (see /models).",
    "use_missing": "There is no model version {version}; see /models.",
    "use_unloadable": "Version {version} cannot be loaded: {error} Nothing was changed.",
    "use_done": "Version {version} is now active.",
    "discard_failed": "Version {version} was not discarded: {error}",
    "discard_done": "Version {version} was discarded.",
    "review_sent_privately": "Sent to you in a private chat: user data never goes into a group.",
    "review_open_private_chat": (
        "I can't message you privately yet, and I don't post user data in groups: open a "
        "private chat with me (press Start there), then send the command again."
    ),
    "gen_filter_usage": (
        "Filters: user <id> and/or model <version>, e.g. /generations user 12345 model 2."
    ),
    "gen_none": "No generations match.",
    "gen_header": "Generations {first}–{last} of {total}, newest first:",
    "gen_item": (
        "#{id} · {when} · user {user} · T={temperature} · version {version} · {source}"
        "{undelivered}\nseed: {seed}\noutput: {output}"
    ),
    "gen_undelivered": " · ⚠ not delivered",
    "source_command": "/write",
    "source_button": "button",
    "source_inline": "inline",
    "export_too_large": (
        "The export is too large to send ({error}). Narrow it with /export user <id> or "
        "/export model <version>."
    ),
    "export_caption": "{rows} generations",
    "export_compressed": " (gzip-compressed: the CSV is over the {limit}-byte upload limit)",
    "stats_latency_none": "no generations in the last 24 h",
    "stats_latency": "p50 {p50} ms, p95 {p95} ms (last 24 h)",
    "stats_model_none": "none",
    "stats_model": "version {version}, val loss {val}",
    "stats": (
        "Users: {users}\nGenerations: {today} today (UTC), {total} in total\n"
        "Latency: {latency}\nActive model: {model}\n"
        "Engine: {running} running, {queued} queued\nTraining: {training}"
    ),
    "stats_refused": (
        "Refused today (UTC): {pending} over USER_MAX_PENDING, {rate} over "
        "USER_RATE_PER_MINUTE, {blocked} blocked or not allowed; since start: {busy} queue "
        "full, {evicted} given up for a lighter user"
    ),
    "stats_top": "Top users today: {users}",
    "stats_in_flight": "In flight per user: {users}",
    "stats_in_flight_item": "{user} {count} ({waiting} waiting)",
    "stats_none": "none",
    # --- end of issue 14 item 5
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
    # --- issue 14 item 5: admin-facing strings (retraining, /models, /generations, /stats)
    "n_a": "غير متاح",
    "rt_starting": "التدريب #{run}: يبدأ…",
    "rt_progress": (
        "التدريب #{run}\n{bar} {percent}\nالخطوة {step}/{total} · الخسارة {loss}{val}\n"
        "مضى {elapsed} · المتبقي {eta}"
    ),
    "rt_progress_val": " · التحقق {val}",
    "rt_registering": "التدريب #{run}: انتهى التدريب، وأسجل النموذج الجديد…",
    "rt_waiting_db": "التدريب #{run}: أنتظر قاعدة البيانات ({cause})؛ أعيد المحاولة…",
    "rt_final_done": "التدريب #{run}: انتهى.",
    "rt_final_state": "التدريب #{run}: {state}.",
    "rt_failed": "فشل التدريب #{run}: {cause}.",
    "rt_cancelled": "أُلغي التدريب #{run}.",
    "rt_cancelled_why": "أُلغي التدريب #{run} ({reason}).",
    "rt_keeps_current": "النموذج الحالي مستمر في العمل.",
    "rt_keeps_version": "الإصدار {version} مستمر في العمل.",
    "rt_btn_activate": "فعّله رغم ذلك",
    "rt_btn_discard": "احذفه",
    "rt_btn_train": "درّب رغم ذلك",
    "rt_ended_as": "انتهى التدريب #{run} بالحالة {state}.",
    "rt_version_gone": "انتهى التدريب #{run}؛ وحُذف إصداره بعد ذلك.",
    "rt_finished": "انتهى التدريب #{run}.",
    "rt_now_active": "الإصدار {version} مفعّل الآن.",
    "rt_alphabet": (
        "حُفظ الإصدار {version} ولم يُفعّل: لا يعرف إلا {share} من حروف الإصدار المفعّل {serving}."
    ),
    "rt_worse": "الإصدار {version} أسوأ من الإصدار المفعّل {serving}، فحُفظ ولم يُفعّل.",
    "rt_stored": "حُفظ الإصدار {version} ولم يُفعّل.",
    "rt_val": "خسارة التحقق: الجديد {new} مقابل المفعّل {old} نات/حرف",
    "rt_not_compared": "(النموذج المفعّل لا يعرف إلا {coverage} من حروف النص الجديد، فلم يُقارن)",
    "rt_sample": "عينة من الإصدار {version}:",
    "rt_no_sample": "(لا عينة: {error})",
    "rt_seeds_unchecked": "(تعذر فحص بدايات المستخدمين: {error})",
    "rt_seeds_fine": "لا توجد بداية لمستخدم في آخر 30 يوما فيها حرف لا يعرفه.",
    "rt_seeds_warning": (
        "تحذير: بدايات {count} مستخدمين في آخر 30 يوما فيها حروف لا يعرفها، فلن يفهمها بعد "
        "الآن (المستخدمون {users}). اضغط «{button}» فقط إن كان هذا مقصودا."
    ),
    "rt_curve": "منحنى الخسارة للتدريب #{run}",
    "rt_none_running": "لا يجري أي تدريب.",
    "rt_serving_current": "النموذج الحالي",
    "rt_serving_version": "الإصدار {version}",
    "rt_cancel_done": "أُلغي التدريب #{run}. {serving} مستمر في العمل.",
    "rt_cancel_after_success": (
        "فات أوان إلغاء التدريب #{run}: كان قد انتهى. {serving} مفعّل الآن؛ الأمر /use <id> "
        "يبدّل الإصدارات (انظر /models)."
    ),
    "rt_cancel_ended": "التدريب #{run} كان قد انتهى ({state}).",
    "rt_cancel_finishing": (
        "فات أوان إلغاء التدريب #{run}: انتهى تدريبه ويُسجَّل نموذجه الآن؛ ستصلك نتيجته. "
        "{serving} يعمل حتى ذلك الحين."
    ),
    "rt_busy": "يجري تدريب الآن:",
    "rt_busy_run": "يجري تدريب الآن: التدريب #{run} ({state}).",
    "rt_usage": (
        "الاستخدام: /retrain (مع ملف ‎.txt أو ردا على رسالة)، أو /retrain append، أو "
        "/retrain cancel."
    ),
    "rt_no_corpus": "لا توجد مدونة حالية لإعادة التدريب عليها؛ أرسل نصا.",
    "rt_no_corpus_append": "لا توجد مدونة حالية لأضيف إليها.",
    "rt_cannot_train": "لا أستطيع التدريب على هذا النص: {error} لم يتغير شيء.",
    "rt_cannot_store": "تعذر حفظ النص: {error}. لم يتغير شيء.",
    "rt_already_trained": (
        "دُرّب هذا النص ({chars} حرفا) بالإعدادات نفسها في التدريب #{run} (الإصدار "
        "{version}). أأدرّب مرة أخرى؟"
    ),
    "rt_corpus_gone": "لم تعد هذه المدونة موجودة؛ أرسل النص مرة أخرى.",
    "rt_training_on": "التدريب على المدونة #{corpus} ({chars} حرفا): يبدأ…",
    "rt_file_too_big": "حجم الملف {size} بايت؛ والحد {limit} بايت. أرسل نصا أقصر.",
    "rt_file_over_20mb": (
        "لا يسمح تيليجرام للبوتات بتنزيل ملفات أكبر من 20 ميغابايت، فلا أستطيع قراءة هذا "
        "الملف. الحد {limit} بايت؛ أرسل نصا أقصر."
    ),
    "rt_file_refused": "لم يعطني تيليجرام الملف ({error}). أرسله مرة أخرى.",
    "rt_file_over_limit": "الملف أكبر من الحد ({limit} بايت). أرسل نصا أقصر.",
    "rt_download_failed": "تعذر تنزيل الملف: {error}. أرسله مرة أخرى.",
    "rt_reply_to_text": "رد على ملف ‎.txt أو على رسالة نصية، أو أرفق النص ملفا.",
    "models_none": "لا إصدارات للنموذج بعد.",
    "models_header": "إصدارات النموذج، الأحدث أولا:",
    "models_item": (
        "#{version}{active} · {when} · {corpus} ({chars} حرفا) · المفردات {vocab} · "
        "خسارة التحقق {val}"
    ),
    "models_active": " ✅ مفعّل",
    "models_corpus": "المدونة #{corpus}",
    "models_corpus_unknown": "مدونة غير معروفة",
    "models_footer": "بدّل بالأمر /use <id>.",
    "use_usage": "الاستخدام: /use <رقم الإصدار>، مثلا /use 2 (انظر /models).",
    "use_missing": "لا يوجد إصدار رقمه {version}؛ انظر /models.",
    "use_unloadable": "تعذر تحميل الإصدار {version}: {error} لم يتغير شيء.",
    "use_done": "الإصدار {version} مفعّل الآن.",
    "discard_failed": "لم يُحذف الإصدار {version}: {error}",
    "discard_done": "حُذف الإصدار {version}.",
    "review_sent_privately": "أرسلته إليك في محادثة خاصة: بيانات المستخدمين لا تُنشر في مجموعة.",
    "review_open_private_chat": (
        "لا أستطيع مراسلتك على الخاص بعد، ولا أنشر بيانات المستخدمين في المجموعات: افتح "
        "محادثة خاصة معي (واضغط Start فيها)، ثم أرسل الأمر مرة أخرى."
    ),
    "gen_filter_usage": (
        "المرشحات: user <id> و/أو model <version>، مثلا /generations user 12345 model 2."
    ),
    "gen_none": "لا نصوص مطابقة.",
    "gen_header": "النصوص {first}–{last} من {total}، الأحدث أولا:",
    "gen_item": (
        "#{id} · {when} · المستخدم {user} · الحرارة {temperature} · الإصدار {version} · "
        "{source}{undelivered}\nالبداية: {seed}\nالنص: {output}"
    ),
    "gen_undelivered": " · ⚠ لم يُسلَّم",
    "source_command": "/write",
    "source_button": "زر",
    "source_inline": "مضمّن",
    "export_too_large": (
        "التصدير أكبر من أن يُرسل ({error}). ضيّقه بالأمر /export user <id> أو "
        "/export model <version>."
    ),
    "export_caption": "{rows} نصا",
    "export_compressed": " (مضغوط بـ gzip: ملف CSV أكبر من حد الرفع {limit} بايت)",
    "stats_latency_none": "لا نصوص في آخر 24 ساعة",
    "stats_latency": "p50 {p50} ms، p95 {p95} ms (آخر 24 ساعة)",
    "stats_model_none": "لا يوجد",
    "stats_model": "الإصدار {version}، خسارة التحقق {val}",
    "stats": (
        "المستخدمون: {users}\nالنصوص: {today} اليوم (UTC)، {total} إجمالا\n"
        "زمن الاستجابة: {latency}\nالنموذج المفعّل: {model}\n"
        "المحرك: {running} قيد الكتابة، {queued} في الانتظار\nالتدريب: {training}"
    ),
    "stats_refused": (
        "المرفوض اليوم (UTC): {pending} فوق USER_MAX_PENDING، {rate} فوق "
        "USER_RATE_PER_MINUTE، {blocked} محظور أو غير مسموح؛ منذ البدء: {busy} لامتلاء "
        "الطابور، {evicted} أُخليت لمستخدم أخف"
    ),
    "stats_top": "أنشط المستخدمين اليوم: {users}",
    "stats_in_flight": "قيد الكتابة لكل مستخدم: {users}",
    "stats_in_flight_item": "{user} {count} ({waiting} في الانتظار)",
    "stats_none": "لا أحد",
    "cmd_retrain": "للمشرف: أعد التدريب على نص جديد",
    "cmd_models": "للمشرف: إصدارات النموذج",
    "cmd_use": "للمشرف: فعّل إصدارا من النموذج",
    "cmd_generations": "للمشرف: راجع النصوص",
    "cmd_export": "للمشرف: صدّر النصوص ملف CSV",
    "cmd_stats": "للمشرف: إحصاءات الاستخدام والنموذج",
    # --- end of issue 14 item 5
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

# --- issue 14 item 5: right-to-left admin texts. Numbers, ids, losses and Latin names put
# into a right-to-left sentence are reordered by the bidi algorithm ("#12:" can show as
# ":12#", "0.8 vs 1.1" swapped); each value (with its "#") is wrapped in first-strong
# isolates, U+2068 ... U+2069, so it keeps its own direction and the sentence its order.
FSI, PDI = "\u2068", "\u2069"
ISOLATED_PREFIXES: Final = (
    "rt_", "models_", "use_", "discard_", "review_", "gen_", "export_", "stats",
)  # fmt: skip
_PLACEHOLDER = re.compile(r"#?\{[a-z0-9_]+\}")
for _key, _text in AR.items():
    if _key.startswith(ISOLATED_PREFIXES):
        AR[_key] = _PLACEHOLDER.sub(lambda m: FSI + m[0] + PDI, _text)
# --- end of issue 14 item 5

LANGUAGES: Final[dict[str, dict[str, str]]] = {"en": EN, "ar": AR}
DEFAULT_LANGUAGE: Final = "en"


def language_for(code: str | None) -> str:
    """Telegram sends IETF tags such as "ar" or "ar-EG"; unknown ones fall back to English."""
    base = (code or "").split("-")[0].lower()
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def t(lang: str | None, key: str, **values: object) -> str:
    table = LANGUAGES.get(language_for(lang), EN)
    return table.get(key, EN[key]).format(**values)
