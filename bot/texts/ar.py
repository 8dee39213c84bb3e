"""What the bot says in Arabic. A key missing here falls back to English."""

from __future__ import annotations

from typing import Final

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
    # --- the writing experience: buttons, /length, inline mode
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
    # --- admin-facing strings (retraining, /models, /generations, /stats)
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
    "corpus_default": "نصوص عربية أصلية",
    # --- delivery, groups and unknown input
    "history_undelivered": "(لم يصل: لم يؤكد تيليجرام وصول هذا الرد)",
    # --- fair use: per-user limits and access control
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
    # --- replicas in /models
    "models_replicas": "النسخ العاملة الآن (نبضها خلال {window} ث):",
    "models_replica": "{host} عملية {pid}: الإصدار {version}، آخر نبض قبل {seconds} ث",
    "startup_notice": "تنبيه عند بدء التشغيل: {notice}",
    "unknown_command": "لا أعرف هذا الأمر. أرسل /help لترى ما أستطيع فعله.",
    "plain_text_hint": "لأكمل لك نصا، أرسل /write ثم النص. الأمر /help يعرض كل الأوامر.",
    "forget_expired": "انتهت صلاحية هذا التأكيد. أرسل /forget مرة أخرى.",
    # --- how a /retrain trained, and how good the result is
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
}
