start =
    مرحبا { $name }! أكتب النص حرفا بعد حرف بشبكة عصبية صغيرة (شبكة ذاكرة طويلة قصيرة المدى على مستوى الحروف) تدربت على { $corpus }.

    أرسل /write ثم بداية نص، وسأكمله لك.
    مثال: /write في صباح يوم جميل

    الأمر /temp يضبط مقدار المغامرة في الكتابة (قيمتك الآن { $temperature }).
    الأمر /help يعرض كل الأوامر.
help =
    الأوامر:
    /write <نص> — أكمل نصك (أكتب { $length ->
        [zero] { $length } حرف
        [one] حرفا واحدا
        [two] حرفين
        [few] { $length } أحرف
        [many] { $length } حرفا
       *[other] { $length } حرف
    }، وتكون بدايتك { $max_seed ->
        [zero] { $max_seed } حرف
        [one] حرفا واحدا
        [two] حرفين
        [few] { $max_seed } أحرف
        [many] { $max_seed } حرفا
       *[other] { $max_seed } حرف
    } على الأكثر).
    /temp <قيمة> — اضبط درجة الحرارة بين { $tmin } و{ $tmax }. القيمة المنخفضة أكثر أمانا وتكرارا، والمرتفعة أكثر تنوعا وأخطاء. القيمة 1 هي توزيع النموذج نفسه. قيمتك: { $temperature }.
    /temp — اعرض درجة حرارتك.
    /history — آخر ما كتبته لك.
    /forget — احذف سجلك وتفضيلاتك.
    /help — هذه الرسالة.
write_usage =
    أرسل بداية نص بعد الأمر، مثلا:
    /write في صباح يوم جميل
seed_too_long = طول النص { $length ->
    [zero] { $length } حرف
    [one] حرف واحد
    [two] حرفان
    [few] { $length } أحرف
    [many] { $length } حرفا
   *[other] { $length } حرف
}، والحد الأقصى { $limit ->
    [zero] { $limit } حرف
    [one] حرف واحد
    [two] حرفان
    [few] { $limit } أحرف
    [many] { $limit } حرفا
   *[other] { $limit } حرف
}. أرسل نصا أقصر من فضلك.
seed_unknown = لا أعرف أيا من حروف هذا النص، فقد تدربت على أبجدية أخرى. جرب نصا بلغة مدونة تدريبي.
dropped_note = ملاحظة: لا أعرف هذه الحروف فحذفتها: { $chars }
busy = لدي طلبات كثيرة الآن. حاول مرة أخرى بعد لحظات من فضلك.
restarting = أعيد التشغيل الآن. حاول مرة أخرى بعد دقيقة من فضلك.
temp_show = درجة حرارتك { $temperature } (المسموح من { $tmin } إلى { $tmax }، والافتراضي { $default }).
temp_set = ضبطت درجة الحرارة على { $temperature }.
temp_not_number = «{ $value }» ليس عددا. أرسل قيمة بين { $tmin } و{ $tmax }، مثلا: /temp 0.8
temp_out_of_range = القيمة { $value } خارج المجال. يجب أن تكون درجة الحرارة بين { $tmin } و{ $tmax }.
history_empty = لم أكتب لك شيئا بعد. جرب /write ثم بداية نص.
history_header = { $count ->
    [zero] لم أكتب لك شيئا بعد:
    [one] آخر نص كتبته لك:
    [two] آخر نصين كتبتهما لك، الأحدث أولا:
    [few] آخر { $count } نصوص كتبتها لك، الأحدث أولا:
    [many] آخر { $count } نصا كتبته لك، الأحدث أولا:
   *[other] آخر { $count } نص كتبته لك، الأحدث أولا:
}
history_item =
    { $index }. { $when } بالتوقيت العالمي · الحرارة { $temperature }
    { "   " }البداية: { $seed }
forget_confirm = { $count ->
    [zero] سيحذف هذا تفضيلاتك (ليس لك نصوص محفوظة). هل أنت متأكد؟
    [one] سيحذف هذا نصك المحفوظ الوحيد وتفضيلاتك. هل أنت متأكد؟
    [two] سيحذف هذا نصيك المحفوظين وتفضيلاتك. هل أنت متأكد؟
    [few] سيحذف هذا { $count } نصوص محفوظة لك وتفضيلاتك. هل أنت متأكد؟
    [many] سيحذف هذا { $count } نصا محفوظا لك وتفضيلاتك. هل أنت متأكد؟
   *[other] سيحذف هذا { $count } نص محفوظ لك وتفضيلاتك. هل أنت متأكد؟
}
forget_yes = نعم، احذف
forget_no = إلغاء
forget_done = { $count ->
    [zero] تم: حذفت تفضيلاتك (لم تكن لك نصوص محفوظة).
    [one] تم: حذفت نصك الوحيد وتفضيلاتك.
    [two] تم: حذفت نصيك وتفضيلاتك.
    [few] تم: حذفت { $count } نصوص وتفضيلاتك.
    [many] تم: حذفت { $count } نصا وتفضيلاتك.
   *[other] تم: حذفت { $count } نص وتفضيلاتك.
}
forget_cancelled = ألغيت العملية: لم يُحذف شيء.
forget_not_yours = هذا الزر يخص مستخدما آخر.
error = عذرا، حدث خطأ من جهتي. حاول مرة أخرى من فضلك.
not_allowed = عذرا، لا يُسمح لك باستخدام هذا الأمر.
cmd_write = أكمل نصا
cmd_temp = اضبط درجة الحرارة أو اعرضها
cmd_history = آخر ما كتبته لك
cmd_forget = احذف بياناتك
cmd_help = طريقة الاستخدام
btn_again = 🔁 مرة أخرى
btn_colder = ❄️ أبرد
btn_hotter = 🔥 أسخن
btn_more = ➕ تابع
button_expired = لم يعد هذا النص محفوظا، فانتهت صلاحية أزراره. أرسل /write مرة أخرى.
button_not_yours = أزرار هذا النص لمن طلبه فقط.
button_coldest = هذا النص بأدنى درجة حرارة مسموحة ({ $temperature }).
button_hottest = هذا النص بأعلى درجة حرارة مسموحة ({ $temperature }).
write_reply_empty = الرسالة التي رددت عليها ليس فيها نص أكمله. رد على رسالة نصية، أو أرسل /write ثم بداية نص.
start_length = الأمر /length يضبط طول نصوصي (الآن { $length ->
    [zero] { $length } حرف
    [one] حرف واحد
    [two] حرفان
    [few] { $length } أحرف
    [many] { $length } حرفا
   *[other] { $length } حرف
}).
help_length =
    /length <عدد> — عدد الحروف التي أكتبها، من { $lmin } إلى { $lmax }. قيمتك: { $length }.
    الأمر /write ردا على رسالة نصية يكمل تلك الرسالة.
    الأزرار تحت كل نص: مرة أخرى (البداية نفسها)، أبرد أو أسخن (مرة واحدة دون تغيير درجتك)، تابع (من حيث انتهى).
    في أي محادثة، اكتب { $bot } ثم بداية نص لتختار واحدا من ثلاثة نصوص.
temp_length = طول نصوصك { $length ->
    [zero] { $length } حرف
    [one] حرف واحد
    [two] حرفان
    [few] { $length } أحرف
    [many] { $length } حرفا
   *[other] { $length } حرف
} (غيّره بالأمر /length).
length_show = طول نصوصك { $length ->
    [zero] { $length } حرف
    [one] حرف واحد
    [two] حرفان
    [few] { $length } أحرف
    [many] { $length } حرفا
   *[other] { $length } حرف
} (المسموح من { $lmin } إلى { $lmax }، والافتراضي { $default }).
length_set = ضبطت الطول على { $length ->
    [zero] { $length } حرف
    [one] حرف واحد
    [two] حرفين
    [few] { $length } أحرف
    [many] { $length } حرفا
   *[other] { $length } حرف
}.
length_not_number = «{ $value }» ليس عددا صحيحا. أرسل طولا من { $lmin } إلى { $lmax }، مثلا /length 300
length_out_of_range = القيمة { $value } خارج النطاق. يجب أن يكون الطول من { $lmin } إلى { $lmax }.
cmd_length = اضبط طول النصوص أو اعرضه
inline_usage_title = اكتب بداية نص
inline_usage = سأقترح ثلاثة نصوص تكملها بثلاث درجات حرارة.
inline_result_title = درجة الحرارة { $temperature }
inline_refused_title = ليس الآن
inline_too_long = طول هذه البداية { $length ->
    [zero] { $length } حرف
    [one] حرف واحد
    [two] حرفان
    [few] { $length } أحرف
    [many] { $length } حرفا
   *[other] { $length } حرف
}، والحد { $limit }.
inline_dropped = حذفت حروفا لا أعرفها: { $chars }
history_inline_offer = (اقتُرح في الوضع المضمَّن ولم يُختر)
n_a = غير متاح
rt_starting = التدريب { REF($run) }: يبدأ…
rt_progress =
    التدريب { REF($run) }
    { $bar } { $percent }
    الخطوة { $step } من { $total } · الخسارة { $loss }{ $val }
    مضى { $elapsed } · المتبقي { $eta }
rt_progress_val = { " " }· التحقق { $val }
rt_registering = التدريب { REF($run) }: انتهى التدريب، وأسجل النموذج الجديد…
rt_waiting_db = التدريب { REF($run) }: أنتظر قاعدة البيانات ({ $cause })؛ أعيد المحاولة…
rt_final_done = التدريب { REF($run) }: انتهى.
rt_final_state = التدريب { REF($run) }: { run_state }.
rt_failed = فشل التدريب { REF($run) }: { $cause }.
rt_cancelled = أُلغي التدريب { REF($run) }.
rt_cancelled_why = أُلغي التدريب { REF($run) } ({ $reason }).
rt_keeps_current = النموذج الحالي مستمر في العمل.
rt_keeps_version = الإصدار { $version } مستمر في العمل.
rt_btn_activate = فعّله رغم ذلك
rt_btn_discard = احذفه
rt_btn_train = درّب رغم ذلك
rt_ended_as = انتهى التدريب { REF($run) } بالحالة: { run_state }.
rt_version_gone = انتهى التدريب { REF($run) }؛ وحُذف إصداره بعد ذلك.
rt_finished = انتهى التدريب { REF($run) }.
rt_now_active = الإصدار { $version } مفعّل الآن.
rt_alphabet = حُفظ الإصدار { $version } ولم يُفعّل: لا يعرف إلا { $share } من حروف الإصدار المفعّل { $serving }.
rt_worse = الإصدار { $version } أسوأ من الإصدار المفعّل { $serving }، فحُفظ ولم يُفعّل.
rt_stored = حُفظ الإصدار { $version } ولم يُفعّل.
rt_val = خسارة التحقق: الجديد { $new } مقابل المفعّل { $old } نات/حرف
rt_not_compared = (النموذج المفعّل لا يعرف إلا { $coverage } من حروف النص الجديد، فلم يُقارن)
rt_sample = عينة من الإصدار { $version }:
rt_no_sample = (لا عينة: { $error })
rt_seeds_unchecked = (تعذر فحص بدايات المستخدمين: { $error })
rt_seeds_fine = لا توجد بداية لمستخدم في الأيام الثلاثين الأخيرة فيها حرف لا يعرفه.
rt_seeds_warning = تحذير: { $count ->
    [zero] لا مستخدمين أرسلوا
    [one] أرسل مستخدم واحد
    [two] أرسل مستخدمان
    [few] أرسل { $count } مستخدمين
    [many] أرسل { $count } مستخدما
   *[other] أرسل { $count } مستخدم
} في الأيام الثلاثين الأخيرة بدايات فيها حروف لا يعرفها، فلن يفهمها بعد الآن (أرقامهم: { $users }). اضغط «{ $button }» فقط إن كان هذا مقصودا.
rt_curve = منحنى الخسارة للتدريب { REF($run) }
rt_none_running = لا يجري أي تدريب.
rt_serving_current = النموذج الحالي
rt_serving_version = الإصدار { $version }
rt_cancel_done = أُلغي التدريب { REF($run) }. { $serving } مستمر في العمل.
rt_cancel_after_success = فات أوان إلغاء التدريب { REF($run) }: كان قد انتهى. { $serving } مفعّل الآن؛ الأمر /use <رقم> يبدّل الإصدارات (انظر /models).
rt_cancel_ended = التدريب { REF($run) } كان قد انتهى ({ run_state }).
rt_cancel_finishing = فات أوان إلغاء التدريب { REF($run) }: انتهى تدريبه ويُسجَّل نموذجه الآن؛ ستصلك نتيجته. { $serving } يعمل حتى ذلك الحين.
rt_busy = يجري تدريب الآن:
rt_busy_run = يجري تدريب الآن: التدريب { REF($run) } ({ run_state }).
rt_usage = الاستخدام: /retrain (مع ملف نصي ‎.txt أو ردا على رسالة)، أو /retrain append، أو /retrain cancel.
rt_no_corpus = لا توجد مدونة حالية لإعادة التدريب عليها؛ أرسل نصا.
rt_no_corpus_append = لا توجد مدونة حالية لأضيف إليها.
rt_cannot_train = لا أستطيع التدريب على هذا النص: { $error } لم يتغير شيء.
rt_cannot_store = تعذر حفظ النص: { $error } لم يتغير شيء.
rt_already_trained = دُرّب هذا النص ({ $chars ->
    [zero] { $chars } حرف
    [one] حرف واحد
    [two] حرفان
    [few] { $chars } أحرف
    [many] { $chars } حرفا
   *[other] { $chars } حرف
}) بالإعدادات نفسها في التدريب { REF($run) } (الإصدار { $version }). أأدرّبه مرة أخرى؟
rt_corpus_gone = لم تعد هذه المدونة موجودة؛ أرسل النص مرة أخرى.
rt_training_on = التدريب على المدونة { REF($corpus) } ({ $chars ->
    [zero] { $chars } حرف
    [one] حرف واحد
    [two] حرفان
    [few] { $chars } أحرف
    [many] { $chars } حرفا
   *[other] { $chars } حرف
}): يبدأ…
rt_file_too_big = حجم الملف { $size ->
    [zero] { $size } بايت
    [one] بايت واحد
    [two] بايتان
    [few] { $size } بايتات
    [many] { $size } بايتا
   *[other] { $size } بايت
}، والحد { $limit ->
    [zero] { $limit } بايت
    [one] بايت واحد
    [two] بايتان
    [few] { $limit } بايتات
    [many] { $limit } بايتا
   *[other] { $limit } بايت
}. أرسل نصا أقصر.
rt_file_over_20mb = لا يسمح تيليجرام للبوتات بتنزيل ملفات أكبر من عشرين ميغابايت، فلا أستطيع قراءة هذا الملف. الحد { $limit ->
    [zero] { $limit } بايت
    [one] بايت واحد
    [two] بايتان
    [few] { $limit } بايتات
    [many] { $limit } بايتا
   *[other] { $limit } بايت
}؛ أرسل نصا أقصر.
rt_file_refused = لم يعطني تيليجرام الملف ({ $error }). أرسله مرة أخرى.
rt_file_over_limit = الملف أكبر من الحد ({ $limit ->
    [zero] { $limit } بايت
    [one] بايت واحد
    [two] بايتان
    [few] { $limit } بايتات
    [many] { $limit } بايتا
   *[other] { $limit } بايت
}). أرسل نصا أقصر.
rt_download_failed = تعذر تنزيل الملف: { $error }. أرسله مرة أخرى.
rt_reply_to_text = رد على ملف نصي ‎.txt أو على رسالة نصية، أو أرفق النص ملفا.
models_none = لا إصدارات للنموذج بعد.
models_header = إصدارات النموذج، الأحدث أولا:
models_item = { REF($version) }{ $active } · { $when } · { $corpus } ({ $chars ->
    [zero] { $chars } حرف
    [one] حرف واحد
    [two] حرفان
    [few] { $chars } أحرف
    [many] { $chars } حرفا
   *[other] { $chars } حرف
}) · المفردات { $vocab } · خسارة التحقق { $val }
models_active = { " " }✅ مفعّل
models_corpus = المدونة { REF($corpus) }
models_corpus_unknown = مدونة غير معروفة
models_footer = بدّل بالأمر /use <رقم>.
use_usage = الاستخدام: /use <رقم الإصدار>، مثلا /use 2 (انظر /models).
use_missing = لا يوجد إصدار رقمه { $version }؛ انظر /models.
use_unloadable = تعذر تحميل الإصدار { $version }: { $error } لم يتغير شيء.
use_done = الإصدار { $version } مفعّل الآن.
discard_failed = لم يُحذف الإصدار { $version }: { $error }
discard_done = حُذف الإصدار { $version }.
review_sent_privately = أرسلته إليك في محادثة خاصة: بيانات المستخدمين لا تُنشر في مجموعة.
review_open_private_chat = لا أستطيع مراسلتك على الخاص بعد، ولا أنشر بيانات المستخدمين في المجموعات: افتح محادثة خاصة معي (واضغط «ابدأ» فيها)، ثم أرسل الأمر مرة أخرى.
gen_filter_usage = المرشحات: user <رقم المستخدم> و/أو model <رقم الإصدار>، مثلا /generations user 12345 model 2.
gen_none = لا نصوص مطابقة.
gen_header = النصوص { $first }–{ $last } من { $total }، الأحدث أولا:
gen_item =
    { REF($id) } · { $when } · المستخدم { $user } · الحرارة { $temperature } · الإصدار { $version } · { $source }{ $undelivered }
    البداية: { $seed }
    النص: { $output }
gen_undelivered = { " " }· ⚠ لم يُسلَّم
source_command = /write
source_button = زر
source_inline = مضمّن
export_too_large = التصدير أكبر من أن يُرسل ({ $error }). ضيّقه بالأمر /export user <رقم> أو /export model <رقم>.
export_caption = { $rows ->
    [zero] لا نصوص
    [one] نص واحد
    [two] نصان
    [few] { $rows } نصوص
    [many] { $rows } نصا
   *[other] { $rows } نص
}
export_compressed = { " " }(مضغوط: الجدول أكبر من حد الرفع، وهو { $limit ->
    [zero] { $limit } بايت
    [one] بايت واحد
    [two] بايتان
    [few] { $limit } بايتات
    [many] { $limit } بايتا
   *[other] { $limit } بايت
})
stats_latency_none = لا نصوص في الساعات الأربع والعشرين الأخيرة
stats_latency = الوسيط { $p50 } ملّي ثانية، والمئين الخامس والتسعون { $p95 } ملّي ثانية (في الساعات الأربع والعشرين الأخيرة)
stats_model_none = لا يوجد
stats_model = الإصدار { $version }، خسارة التحقق { $val }
stats =
    المستخدمون: { $users }
    النصوص: { $today } اليوم (بالتوقيت العالمي)، و{ $total } إجمالا
    زمن الاستجابة: { $latency }
    النموذج المفعّل: { $model }
    المحرك: { $running } قيد الكتابة، و{ $queued } في الانتظار
    التدريب: { $training }
stats_refused = المرفوض اليوم (بالتوقيت العالمي): { $pending } لتجاوز حد الطلبات الجارية، و{ $rate } لتجاوز حد الطلبات في الدقيقة، و{ $blocked } لمحظورين أو غير مسموح لهم؛ ومنذ البدء: { $busy } لامتلاء الطابور، و{ $evicted } أُخليت لمستخدم أخف حملا
stats_top = أنشط المستخدمين اليوم: { $users }
stats_in_flight = قيد الكتابة لكل مستخدم: { $users }
stats_in_flight_item = { $user } { $count } ({ $waiting } في الانتظار)
stats_none = لا أحد
corpus_default = نصوص عربية أصلية
startup_notice = تنبيه عند بدء التشغيل: { $notice }
cmd_retrain = للمشرف: أعد التدريب على نص جديد
cmd_models = للمشرف: إصدارات النموذج
cmd_use = للمشرف: فعّل إصدارا من النموذج
cmd_generations = للمشرف: راجع النصوص
cmd_export = للمشرف: صدّر النصوص جدولا
cmd_stats = للمشرف: إحصاءات الاستخدام والنموذج
history_undelivered = (لم يصل: لم يؤكد تيليجرام وصول هذا الرد)
limit_pending = { $count ->
    [zero] أكتب لك الآن؛ انتظر ثم أرسل التالي.
    [one] أكتب لك نصا الآن؛ انتظره ثم أرسل التالي.
    [two] أكتب لك نصين الآن؛ انتظرهما ثم أرسل التالي.
    [few] أكتب لك { $count } نصوص الآن؛ انتظرها ثم أرسل التالي.
    [many] أكتب لك { $count } نصا الآن؛ انتظرها ثم أرسل التالي.
   *[other] أكتب لك { $count } نص الآن؛ انتظرها ثم أرسل التالي.
}
limit_rate = ترسل الطلبات أسرع مما أستطيع الكتابة (الحد { $rate ->
    [zero] { $rate } طلب
    [one] طلب واحد
    [two] طلبان
    [few] { $rate } طلبات
    [many] { $rate } طلبا
   *[other] { $rate } طلب
} في الدقيقة). حاول مرة أخرى بعد { $seconds ->
    [zero] لحظة
    [one] ثانية واحدة
    [two] ثانيتين
    [few] { $seconds } ثوان
    [many] { $seconds } ثانية
   *[other] { $seconds } ثانية
} من فضلك.
access_blocked = عذرا، لا يمكنك استخدام هذا البوت. إن كان هذا خطأ فتواصل مع مشغله.
access_not_allowed = عذرا، هذا البوت خاص: يستخدمه المدعوون فقط.
access_usage_allow = الاستخدام: /allow <رقم المستخدم>، مثلا: /allow 123456789
access_usage_block = الاستخدام: /block <رقم المستخدم> [السبب]، مثلا: /block 123456789 إزعاج
access_usage_unblock = الاستخدام: /unblock <رقم المستخدم>، مثلا: /unblock 123456789
access_allowed = يمكن للمستخدم { $user_id } استخدام البوت الآن.
access_allowed_open = أضيف المستخدم { $user_id } إلى قائمة السماح (الوضع مفتوح: يستخدم الجميع البوت على أي حال).
access_still_blocked = ملاحظة: المستخدم { $user_id } ما زال محظورا؛ /unblock { $user_id } يرفع الحظر.
access_blocked_done = حظرت المستخدم { $user_id }{ $reason }. ستُتجاهل رسائله من الآن.
access_block_admin = المستخدم { $user_id } مشرف، ولا يمكن حظر المشرفين.
access_unblocked = رفعت الحظر عن المستخدم { $user_id }.
access_not_blocked = المستخدم { $user_id } لم يكن محظورا.
users_header = المستخدمون { $first }–{ $last } من { $total }، الأحدث نشاطا أولا:
users_blocked_header = المحظورون { $first }–{ $last } من { $total }:
users_none = لا مستخدمين بعد.
users_none_blocked = لا أحد محظور.
users_item = { $user_id } · { $name } · { $generations ->
    [zero] لا نصوص
    [one] نص واحد
    [two] نصان
    [few] { $generations } نصوص
    [many] { $generations } نصا
   *[other] { $generations } نص
} · آخر نشاط { $when }
users_item_blocked = { "   " }حُظر { $when }: { $reason }
users_never = أبدا
cmd_allow = للمشرف: اسمح لمستخدم (وضع القائمة)
cmd_block = للمشرف: احظر مستخدما
cmd_unblock = للمشرف: ارفع الحظر عن مستخدم
cmd_users = للمشرف: قائمة المستخدمين (أو المحظورين)
models_replicas = النسخ العاملة الآن (التي نبضت خلال { $window ->
    [zero] { $window } ثانية
    [one] ثانية واحدة
    [two] ثانيتين
    [few] { $window } ثوان
    [many] { $window } ثانية
   *[other] { $window } ثانية
}):
models_replica = { $host } العملية { $pid }: الإصدار { $version }، آخر نبض { $seconds ->
    [zero] الآن
    [one] قبل ثانية واحدة
    [two] قبل ثانيتين
    [few] قبل { $seconds } ثوان
    [many] قبل { $seconds } ثانية
   *[other] قبل { $seconds } ثانية
}
unknown_command = لا أعرف هذا الأمر. أرسل /help لترى ما أستطيع فعله.
plain_text_hint = لأكمل لك نصا، أرسل /write ثم النص. الأمر /help يعرض كل الأوامر.
forget_expired = انتهت صلاحية هذا التأكيد. أرسل /forget مرة أخرى.
retrain_finetuned = ضُبط النموذج انطلاقا من الإصدار { $version }؛ { $added ->
    [zero] ولم تزد مفرداته
    [one] وزادت مفرداته حرفا واحدا
    [two] وزادت مفرداته حرفين
    [few] وزادت مفرداته { $added } أحرف
    [many] وزادت مفرداته { $added } حرفا
   *[other] وزادت مفرداته { $added } حرف
} ({ $chars }).
retrain_fresh = دُرّب النموذج من الصفر.
retrain_quality = على ذيل التحقق من النص الجديد، بالبت لكل حرف (مقروءا تيارا واحدا، والأقل أفضل): النموذج الجديد { $model }، والنموذج المفعّل { $active }، ونموذج كنيسر-ناي الإحصائي من الرتبة { $order } { $ngram }.
retrain_not_below_ngram = النموذج الجديد ليس أفضل من النموذج الإحصائي (يزيد عنه { $gap } بت لكل حرف): النص على الأرجح أقصر أو أكثر تكرارا من أن تتعلم منه الشبكة أكثر من عدّ الحروف.
retrain_contest_finetune = فاز الضبط الدقيق بفارق { $margin } بت لكل حرف على الجزء المحجوز من النص الجديد (بالبت لكل حرف، والأقل أفضل): النموذج المضبوط { $finetune }، والمدرَّب من الصفر { $fresh }، والإصدار { $version } كما هو { $base }.
retrain_contest_fresh = فاز التدريب من الصفر بفارق { $margin } بت لكل حرف على الجزء المحجوز من النص الجديد (بالبت لكل حرف، والأقل أفضل): المدرَّب من الصفر { $fresh }، والنموذج المضبوط { $finetune }، والإصدار { $version } كما هو { $base }.
retrain_contest_base = لم يتفوق الضبط الدقيق ({ $finetune }) ولا التدريب من الصفر ({ $fresh }) على الإصدار { $version } كما هو ({ $base } بت لكل حرف، أفضل بفارق { $margin }) في الجزء المحجوز من النص الجديد، لذا يبقى الإصدار { $version } مفعّلا.
retrain_realism = ما يكتبه بالإعدادات الافتراضية (درجة الحرارة { $temperature })، والحكم { $judge }: { $nonwords } { $words ->
    [zero] من { $words } كلمة
    [one] من كلمة واحدة
    [two] من كلمتين
    [few] من { $words } كلمات
    [many] من { $words } كلمة
   *[other] من { $words } كلمة
} ليست كلمات صحيحة، و{ $repeated } من ثلاثيات كلماته تتكرر داخل العينة الواحدة (في النص الحقيقي: { $real }). ونموذج كنيسر-ناي الإحصائي من الرتبة { $order } بالإعدادات نفسها: { $ngram_nonwords } ليست كلمات صحيحة، و{ $ngram_repeated } مكررة.
retrain_realism_dictionary = لقاموس إملائي
retrain_realism_seen = لكلمات نص التدريب (لا يوجد قاموس إملائي يناسب هذا النص)
retrain_methods_usage = أضف finetune للانطلاق من أوزان النموذج المفعّل (تضاف الحروف الجديدة إلى مفرداته)، أو fresh للتدريب من الصفر: /retrain finetune أو /retrain append fresh.
seed_unknown_script = لا أعرف أيا من حروف هذا النص: تدربت على نصوص مكتوبة بالحروف { $script }. جرب نصا مكتوبا بها.
run_state = { $state ->
    [queued] في الانتظار
    [running] يجري
    [finishing] يُختم
    [succeeded] نجح
    [failed] فشل
    [cancelled] أُلغي
   *[other] { $state }
}
alert_error = ⚠️ خطأ غير متوقع: { $error }
alert_repeated = ⚠️ تكرر الخطأ نفسه { $count ->
    [zero] { $count } مرة
    [one] مرة واحدة
    [two] مرتين
    [few] { $count } مرات
    [many] { $count } مرة
   *[other] { $count } مرة
} خلال { $minutes ->
    [zero] { $minutes } دقيقة
    [one] الدقيقة الأخيرة
    [two] الدقيقتين الأخيرتين
    [few] آخر { $minutes } دقائق
    [many] آخر { $minutes } دقيقة
   *[other] آخر { $minutes } دقيقة
}: { $error }
export_upload_refused = رفض تيليجرام الملف لأنه أكبر من أن يُرفع. ضيّق التصدير بالأمر /export user <رقم> أو /export model <رقم>.
text_too_big = حجم النص { $size ->
    [zero] { $size } بايت
    [one] بايت واحد
    [two] بايتان
    [few] { $size } بايتات
    [many] { $size } بايتا
   *[other] { $size } بايت
}، والحد { $limit ->
    [zero] { $limit } بايت
    [one] بايت واحد
    [two] بايتان
    [few] { $limit } بايتات
    [many] { $limit } بايتا
   *[other] { $limit } بايت
}. أرسل نصا أقصر.
text_empty = النص فارغ.
text_wide_encoding = يبدو هذا النص بترميز { $encoding }: احفظه بترميز UTF-8 وأرسله مرة أخرى.
text_control = في النص محرف تحكم { $code } (عند المحرف رقم { $position })، فيبدو ملفا ثنائيا أو ملفا بترميز خاطئ، لا نصا عاديا.
text_not_prose = { $share } فقط من النص حروف ومسافات وعلامات ترقيم؛ أرسل نثرا للتدريب عليه، لا بيانات أو شيفرة.
cmd_pin = للمشرف: احتفظ بإصدار من النموذج مهما كانت سياسة الحذف
cmd_unpin = للمشرف: ألغِ تثبيت إصدار من النموذج
models_retention = يُحتفظ بالإصدار المفعّل، { $keep ->
    [zero] دون إصدارات أحدث
    [one] وبأحدث إصدار
    [two] وبأحدث إصدارين
    [few] وبأحدث { $keep } إصدارات
    [many] وبأحدث { $keep } إصدارا
   *[other] وبأحدث { $keep } إصدار
}، وبالإصدارات المثبّتة (📌). أما البقية فتُحذف ملفاتها (🗑)، وتبقى نصوصها حاملة رقم إصدارها.
models_pinned = { " " }📌 مثبّت
models_pruned = { " " }🗑 محذوف الملف
models_pin_hint = ثبّت إصدارا بالأمر /pin <رقم>، وألغِ تثبيته بالأمر /unpin <رقم>.
pin_usage = الاستخدام: /pin <رقم الإصدار>، مثلا /pin 2 (انظر /models).
unpin_usage = الاستخدام: /unpin <رقم الإصدار>، مثلا /unpin 2 (انظر /models).
pin_done = ثُبّت الإصدار { $version }: سيُحتفظ به مهما كانت سياسة الحذف.
unpin_done = أُلغي تثبيت الإصدار { $version }: سيُحذف ملفه متى لم يعد مفعّلا ولا من أحدث الإصدارات.
version_pruned = حُذف ملف الإصدار { $version } لتوفير المساحة، فلم يعد ممكنا تفعيله ولا تثبيته. تبقى نصوصه حاملة رقم إصداره.
download_no_path = لم يعطني تيليجرام طريقة لتنزيل الملف
download_http = ردّ خادم ملفات تيليجرام برمز الحالة { $status }
download_network = انقطع الاتصال بخادم ملفات تيليجرام
download_too_large = الملف أكبر من الحد المسموح
cause_text_unusable = لا يصلح هذا النص للتدريب (التفاصيل في سجل البوت).
cause_checkpoint_unusable = ملف النموذج مفقود أو تالف (التفاصيل في سجل البوت).
cause_seed_unusable = لا أستطيع إكمال هذا النص
cause_sampling = أحد إعدادات التوليد خارج المجال المسموح
cause_database = تعذرت قراءة قاعدة البيانات أو الكتابة فيها
cause_system = تعذرت على الخادم قراءة ملف أو كتابته (التفاصيل في سجل البوت)
cause_unexpected = خطأ غير متوقع (التفاصيل في سجل البوت)
text_not_utf8 = النص ليس بترميز UTF-8 صالح (بايت خاطئ عند الموضع { $position }): احفظه بترميز UTF-8 وأرسله مرة أخرى.
text_too_short = النص أقصر من أن أتدرب عليه: فيه { $length ->
    [zero] { $length } حرف
    [one] حرف واحد
    [two] حرفان
    [few] { $length } أحرف
    [many] { $length } حرفا
   *[other] { $length } حرف
} بعد التوحيد، وأحتاج { $need ->
    [zero] { $need } حرف
    [one] حرفا واحدا
    [two] حرفين
    [few] { $need } أحرف
    [many] { $need } حرفا
   *[other] { $need } حرف
} على الأقل: نافذة تدريب واحدة من { $window ->
    [zero] { $window } حرف
    [one] حرف واحد
    [two] حرفين
    [few] { $window } أحرف
    [many] { $window } حرفا
   *[other] { $window } حرف
} وجزءا يُحجز للتحقق.
run_killed = أُنهيت عملية التدريب قسرا بالإشارة { $signal }
run_exited = خرجت عملية التدريب برمز الحالة { $status }
run_unfinished = لم يكتمل التدريب
run_cancelled = بطلب
run_queue_unreachable = تعذر الوصول إلى طابور مهام التدريب
run_bot_stopped = أُوقف البوت
run_bot_stopped_during = توقف البوت أثناء التدريب
run_trainer_gone = اختفت عملية التدريب التي كانت تتولاه
run_trainer_silent = انقطعت إشارات الحياة من عملية التدريب التي كانت تتولاه
run_trainer_stopped = أُوقفت عملية التدريب التي كانت تتولاه
startup_version_fallback = تعذر تحميل الإصدار { $version } من النموذج عند بدء التشغيل: { $cause } يعمل الإصدار { $serving } بدلا منه؛ أعد الملف { $path } ثم أرسل /use { $version } للعودة إليه.
startup_default_fallback = تعذر تحميل الإصدار { $version } من النموذج عند بدء التشغيل: { $cause } ولم يُحمَّل أي إصدار آخر، فيعمل النموذج الافتراضي (الإصدار { $serving }) بدلا منه.
checkpoint_missing = ملفه مفقود.
checkpoint_changed = ملفه ليس الملف المسجل (بصمته الرقمية مختلفة: استُبدل أو تلف).
rt_curve_legend = { $train }: خسارة التدريب؛ { $validation }: خسارة التحقق (الإنتروبيا المتقاطعة بالنات لكل حرف، حسب الخطوة).
rt_curve_legend_train = { $train }: خسارة التدريب (الإنتروبيا المتقاطعة بالنات لكل حرف، حسب الخطوة).
rt_curve_blue = الأزرق
rt_curve_orange = البرتقالي
cause_telegram = رفض تيليجرام الطلب
discard_active = لا يمكن حذف الإصدار المفعّل.
store_database = لم تستطع قاعدة البيانات حفظه: { $reason }.
store_folder = تعذرت الكتابة في مجلد النصوص { $folder }: { $reason }.
export_rows_too_large = حجم { $rows ->
    [zero] { $rows } صف
    [one] صف واحد
    [two] صفين
    [few] { $rows } صفوف
    [many] { $rows } صفا
   *[other] { $rows } صف
} { $size ->
    [zero] { $size } بايت
    [one] بايت واحد
    [two] بايتان
    [few] { $size } بايتات
    [many] { $size } بايتا
   *[other] { $size } بايت
} حتى بعد الضغط، والحد { $limit ->
    [zero] { $limit } بايت
    [one] بايت واحد
    [two] بايتان
    [few] { $limit } بايتات
    [many] { $limit } بايتا
   *[other] { $limit } بايت
}
