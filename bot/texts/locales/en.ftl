# $name (name), $corpus (text), $temperature (value)
start =
    Hello { $name }! I write text one character at a time with a small neural network (a character-level LSTM) trained on { $corpus }.

    Send /write followed by the beginning of a text, and I will continue it.
    Example: /write في صباح يوم جميل

    /temp sets how adventurous I am (currently { $temperature }).
    /help lists every command.
# $length (number), $max_seed (number), $tmin (value), $tmax (value), $temperature (value)
help =
    Commands:
    /write <text> — continue your text ({ $length } characters; up to { $max_seed } characters of your own).
    /temp <value> — set the temperature, from { $tmin } to { $tmax }. Lower is safer and more repetitive, higher is more varied with more typos. 1 is the model's own distribution. Yours: { $temperature }.
    /temp — show your temperature.
    /history — your last generations.
    /forget — delete your history and preferences.
    /help — this message.
write_usage =
    Send the beginning of a text after the command, for example:
    /write في صباح يوم جميل
# $length (number), $limit (number)
seed_too_long = That seed is { $length } characters long; the limit is { $limit }. Please send a shorter one.
seed_unknown = I don't know any of the characters in that seed: I was trained on a different alphabet. Try text in the language of my training corpus.
# $chars (name)
dropped_note = Note: I don't know these characters, so I left them out: { $chars }
busy = I'm busy with many requests right now. Please try again in a moment.
restarting = I'm restarting right now. Please try again in a minute.
# $temperature (value), $tmin (value), $tmax (value), $default (value)
temp_show = Your temperature is { $temperature } (allowed: { $tmin } to { $tmax }, default { $default }).
# $temperature (value)
temp_set = Temperature set to { $temperature }.
# $value (name), $tmin (value), $tmax (value)
temp_not_number = “{ $value }” is not a number. Send a value between { $tmin } and { $tmax }, e.g. /temp 0.8
# $value (name), $tmin (value), $tmax (value)
temp_out_of_range = { $value } is out of range. The temperature must be between { $tmin } and { $tmax }.
history_empty = You have no generations yet. Try /write followed by some text.
# $count (number)
history_header = { $count ->
    [one] Your last generation:
   *[other] Your last { $count } generations, newest first:
}
# $index (number), $when (date), $temperature (value), $seed (name)
history_item =
    { $index }. { $when } UTC · temperature { $temperature }
    { "   " }{ $seed }
# $count (number)
forget_confirm = { $count ->
    [0] This deletes your preferences (you have no stored generations). Are you sure?
    [one] This deletes your one stored generation and your preferences. Are you sure?
   *[other] This deletes your { $count } stored generations and your preferences. Are you sure?
}
forget_yes = Yes, delete
forget_no = Cancel
# $count (number)
forget_done = { $count ->
    [0] Done: I deleted your preferences (there were no generations).
    [one] Done: I deleted one generation and your preferences.
   *[other] Done: I deleted { $count } generations and your preferences.
}
forget_cancelled = Cancelled: nothing was deleted.
forget_not_yours = This button belongs to someone else.
error = Sorry, something went wrong on my side. Please try again.
not_allowed = Sorry, you are not allowed to use this command.
cmd_write = Continue a text
cmd_temp = Set or show the sampling temperature
cmd_history = Your last generations
cmd_forget = Delete your data
cmd_help = How to use the bot
btn_again = 🔁 Again
btn_colder = ❄️ Colder
btn_hotter = 🔥 Hotter
btn_more = ➕ Continue
button_expired = This text is no longer stored, so its buttons have expired. Send /write again.
button_not_yours = Only the person who asked for this text can use its buttons.
# $temperature (value)
button_coldest = This text is already at the lowest temperature ({ $temperature }).
# $temperature (value)
button_hottest = This text is already at the highest temperature ({ $temperature }).
write_reply_empty = The message you replied to has no text I can continue. Reply to a text message, or send /write followed by the beginning of a text.
# $length (number)
start_length = /length sets how long my texts are (currently { $length ->
    [one] one character
   *[other] { $length } characters
}).
# $lmin (number), $lmax (number), $length (number), $bot (name)
help_length =
    /length <n> — how many characters I write, from { $lmin } to { $lmax }. Yours: { $length }.
    /write as a reply to a text message continues that message.
    The buttons under a text: again (same beginning), colder or hotter (once, without changing your temperature), continue (from where it ends).
    In any chat, type { $bot } and the beginning of a text to pick one of three continuations.
# $length (number)
temp_length = Your texts are { $length ->
    [one] one character
   *[other] { $length } characters
} long (/length to change).
# $length (number), $lmin (number), $lmax (number), $default (number)
length_show = Your texts are { $length ->
    [one] one character
   *[other] { $length } characters
} long (allowed: { $lmin } to { $lmax }, default { $default }).
# $length (number)
length_set = Length set to { $length ->
    [one] one character
   *[other] { $length } characters
}.
# $value (name), $lmin (number), $lmax (number)
length_not_number = “{ $value }” is not a whole number. Send a length from { $lmin } to { $lmax }, e.g. /length 300
# $value (name), $lmin (number), $lmax (number)
length_out_of_range = { $value } is out of range. The length must be from { $lmin } to { $lmax }.
cmd_length = Set or show the length of texts
inline_usage_title = Type the beginning of a text
inline_usage = I will offer three continuations of it at three temperatures.
# $temperature (value)
inline_result_title = Temperature { $temperature }
inline_refused_title = Not now
# $length (number), $limit (number)
inline_too_long = That beginning is { $length } characters long; the limit is { $limit }.
# $chars (name)
inline_dropped = I left out characters I don't know: { $chars }
history_inline_offer = (offered inline, not chosen)
n_a = n/a
# $run (id)
rt_starting = Training run #{ $run }: starting…
# $run (id), $bar (text), $percent (value), $step (number), $total (number), $loss (value), $val (text), $elapsed (value), $eta (value)
rt_progress =
    Training run #{ $run }
    { $bar } { $percent }
    step { $step }/{ $total } · loss { $loss }{ $val }
    elapsed { $elapsed } · ETA { $eta }
# $val (value)
rt_progress_val = { " " }· val { $val }
# $run (id)
rt_registering = Training run #{ $run }: training done, registering the new model…
# $run (id), $cause (name)
rt_waiting_db = Training run #{ $run }: waiting for the database ({ $cause }); retrying…
# $run (id)
rt_final_done = Training run #{ $run }: done.
# $run (id), $state (text)
rt_final_state = Training run #{ $run }: { run_state }.
# $run (id), $cause (name)
rt_failed = Training run #{ $run } failed: { $cause }.
# $run (id)
rt_cancelled = Training run #{ $run } was cancelled.
# $run (id), $reason (name)
rt_cancelled_why = Training run #{ $run } was cancelled ({ $reason }).
rt_keeps_current = The current model keeps serving.
# $version (id)
rt_keeps_version = Version { $version } keeps serving.
rt_btn_activate = Activate anyway
rt_btn_discard = Discard
rt_btn_train = Train anyway
# $run (id), $state (text)
rt_ended_as = Training run #{ $run } ended as { run_state }.
# $run (id)
rt_version_gone = Training run #{ $run } finished; its version was discarded since.
# $run (id)
rt_finished = Training run #{ $run } finished.
# $version (id)
rt_now_active = Version { $version } is now active.
# $version (id), $share (value), $serving (text)
rt_alphabet = Version { $version } was stored but NOT activated: it knows only { $share } of the characters of the active version { $serving }.
# $version (id), $serving (text)
rt_worse = Version { $version } is worse than the active version { $serving }, so it was stored but not activated.
# $version (id)
rt_stored = Version { $version } was stored but not activated.
# $new (value), $old (value)
rt_val = Validation loss: new { $new } vs active { $old } nats/char
# $coverage (value)
rt_not_compared = (the active model knows only { $coverage } of the new text's characters, so it was not compared)
# $version (id)
rt_sample = Sample from version { $version }:
# $error (name)
rt_no_sample = (no sample: { $error })
# $error (name)
rt_seeds_unchecked = (could not check users' seeds: { $error })
rt_seeds_fine = No user's seed of the last 30 days uses a character it does not know.
# $count (number), $users (name), $button (text)
rt_seeds_warning = Warning: { $count ->
    [one] one user's seeds
   *[other] { $count } users' seeds
} of the last 30 days use characters it does not know, so it would no longer understand them (users { $users }). Press "{ $button }" only if that is intended.
# $run (id)
rt_curve = Loss curve of training run #{ $run }
rt_none_running = No training is running.
rt_serving_current = The current model
# $version (id)
rt_serving_version = Version { $version }
# $run (id), $serving (text)
rt_cancel_done = Training run #{ $run } was cancelled. { $serving } keeps serving.
# $run (id), $serving (text)
rt_cancel_after_success = Too late to cancel training run #{ $run }: it had already finished training. { $serving } is now active; /use <id> switches versions (see /models).
# $run (id), $state (text)
rt_cancel_ended = Training run #{ $run } had already ended ({ run_state }).
# $run (id), $serving (text)
rt_cancel_finishing = Too late to cancel training run #{ $run }: it finished training and its model is being registered; you will get its outcome. { $serving } serves for now.
rt_busy = A training is already running:
# $run (id), $state (text)
rt_busy_run = A training is already running: run #{ $run } ({ run_state }).
rt_usage = Usage: /retrain (with a .txt document or as a reply), /retrain append, /retrain cancel.
rt_no_corpus = There is no current corpus to retrain on; send a text.
rt_no_corpus_append = There is no current corpus to append to.
# $error (name)
rt_cannot_train = I can't train on this text: { $error } Nothing was changed.
# $error (name)
rt_cannot_store = I could not store the text: { $error } Nothing was changed.
# $chars (number), $run (id), $version (id)
rt_already_trained = This text ({ $chars } characters) was already trained with the same settings in run #{ $run } (version { $version }). Train again anyway?
rt_corpus_gone = That corpus no longer exists; send the text again.
# $corpus (id), $chars (number)
rt_training_on = Training on corpus #{ $corpus } ({ $chars } characters): starting…
# $size (number), $limit (number)
rt_file_too_big = The file is { $size } bytes; the limit is { $limit } bytes. Send a shorter text.
# $limit (number)
rt_file_over_20mb = Telegram does not let bots download files over 20 MB, so I cannot read this one. The limit is { $limit } bytes; send a shorter text.
# $error (name)
rt_file_refused = Telegram could not give me the file ({ $error }). Send it again.
# $limit (number)
rt_file_over_limit = The file is over the limit of { $limit } bytes. Send a shorter text.
# $error (name)
rt_download_failed = I could not download the file: { $error }. Send it again.
rt_reply_to_text = Reply to a .txt document or a text message, or attach the text as a document.
models_none = No model versions yet.
models_header = Model versions, newest first:
# $version (id), $active (text), $when (date), $corpus (text), $chars (number), $vocab (number), $val (value)
models_item = #{ $version }{ $active } · { $when } · { $corpus } ({ $chars } chars) · vocab { $vocab } · val loss { $val }
models_active = { " " }✅ active
# $corpus (id)
models_corpus = corpus #{ $corpus }
models_corpus_unknown = corpus ?
models_footer = Switch with /use <id>.
use_usage = Usage: /use <version id>, e.g. /use 2 (see /models).
# $version (id)
use_missing = There is no model version { $version }; see /models.
# $version (id), $error (name)
use_unloadable = Version { $version } cannot be loaded: { $error } Nothing was changed.
# $version (id)
use_done = Version { $version } is now active.
# $version (id), $error (name)
discard_failed = Version { $version } was not discarded: { $error }
# $version (id)
discard_done = Version { $version } was discarded.
review_sent_privately = Sent to you in a private chat: user data never goes into a group.
review_open_private_chat = I can't message you privately yet, and I don't post user data in groups: open a private chat with me (press Start there), then send the command again.
gen_filter_usage = Filters: user <id> and/or model <version>, e.g. /generations user 12345 model 2.
gen_none = No generations match.
# $first (number), $last (number), $total (number)
gen_header = Generations { $first }–{ $last } of { $total }, newest first:
# $id (id), $when (date), $user (id), $temperature (value), $version (id), $source (text), $undelivered (text), $seed (name), $output (name)
gen_item =
    #{ $id } · { $when } · user { $user } · T={ $temperature } · version { $version } · { $source }{ $undelivered }
    seed: { $seed }
    output: { $output }
gen_undelivered = { " " }· ⚠ not delivered
source_command = /write
source_button = button
source_inline = inline
# $error (name)
export_too_large = The export is too large to send ({ $error }). Narrow it with /export user <id> or /export model <version>.
# $rows (number)
export_caption = { $rows ->
    [one] one generation
   *[other] { $rows } generations
}
# $limit (number)
export_compressed = { " " }(gzip-compressed: the CSV is over the { $limit }-byte upload limit)
stats_latency_none = no generations in the last 24 h
# $p50 (value), $p95 (value)
stats_latency = p50 { $p50 } ms, p95 { $p95 } ms (last 24 h)
stats_model_none = none
# $version (id), $val (value)
stats_model = version { $version }, val loss { $val }
# $users (number), $today (number), $total (number), $latency (text), $model (text), $running (number), $queued (number), $training (text)
stats =
    Users: { $users }
    Generations: { $today } today (UTC), { $total } in total
    Latency: { $latency }
    Active model: { $model }
    Engine: { $running } running, { $queued } queued
    Training: { $training }
# $pending (number), $rate (number), $blocked (number), $busy (number), $evicted (number)
stats_refused = Refused today (UTC): { $pending } over USER_MAX_PENDING, { $rate } over USER_RATE_PER_MINUTE, { $blocked } blocked or not allowed; since start: { $busy } queue full, { $evicted } given up for a lighter user
# $users (text)
stats_top = Top users today: { $users }
# $users (text)
stats_in_flight = In flight per user: { $users }
# $user (id), $count (number), $waiting (number)
stats_in_flight_item = { $user } { $count } ({ $waiting } waiting)
stats_none = none
corpus_default = original Arabic prose
# $notice (name)
startup_notice = Start-up notice: { $notice }
cmd_retrain = Admin: retrain on new text
cmd_models = Admin: list model versions
cmd_use = Admin: activate a model version
cmd_generations = Admin: review generations
cmd_export = Admin: export generations as CSV
cmd_stats = Admin: usage and model statistics
history_undelivered = (not delivered: Telegram did not confirm this reply)
# $count (number)
limit_pending = { $count ->
    [one] You already have a text being written; wait for it, then send the next one.
   *[other] You already have { $count } texts being written; wait for them, then send the next one.
}
# $rate (number), $seconds (number)
limit_rate = You are sending requests faster than I can write (at most { $rate } a minute). Please try again in { $seconds } s.
access_blocked = Sorry, you can't use this bot. If you think this is a mistake, contact its operator.
access_not_allowed = Sorry, this bot is private: only invited users can use it.
access_usage_allow = Usage: /allow <user id>, e.g. /allow 123456789
access_usage_block = Usage: /block <user id> [reason], e.g. /block 123456789 spam
access_usage_unblock = Usage: /unblock <user id>, e.g. /unblock 123456789
# $user_id (id)
access_allowed = User { $user_id } may use the bot now.
# $user_id (id)
access_allowed_open = User { $user_id } is on the allow list (ACCESS=open: everyone may use the bot anyway).
# $user_id (id)
access_still_blocked = Note: user { $user_id } is still blocked; /unblock { $user_id } lifts it.
# $user_id (id), $reason (name)
access_blocked_done = User { $user_id } is blocked{ $reason }. Their messages are ignored now.
# $user_id (id)
access_block_admin = User { $user_id } is an admin (ADMIN_IDS); admins can't be blocked.
# $user_id (id)
access_unblocked = User { $user_id } is unblocked.
# $user_id (id)
access_not_blocked = User { $user_id } was not blocked.
# $first (number), $last (number), $total (number)
users_header = Users { $first }–{ $last } of { $total }, most recently active first:
# $first (number), $last (number), $total (number)
users_blocked_header = Blocked users { $first }–{ $last } of { $total }:
users_none = No users yet.
users_none_blocked = No one is blocked.
# $user_id (id), $name (name), $generations (number), $when (date)
users_item = { $user_id } · { $name } · { $generations ->
    [one] one generation
   *[other] { $generations } generations
} · last active { $when }
# $when (date), $reason (name)
users_item_blocked = { "   " }blocked { $when }: { $reason }
users_never = never
cmd_allow = Admin: let a user in (ACCESS=allowlist)
cmd_block = Admin: block a user
cmd_unblock = Admin: unblock a user
cmd_users = Admin: list users (or blocked ones)
# $window (number)
models_replicas = Replicas serving now (heartbeat within { $window } s):
# $host (name), $pid (id), $version (id), $seconds (number)
models_replica = { $host } pid { $pid }: version { $version }, seen { $seconds } s ago
unknown_command = I don't know that command. Send /help to see what I can do.
plain_text_hint = To have me continue a text, send /write followed by it. /help lists every command.
forget_expired = This confirmation has expired. Send /forget again.
# $version (id), $added (number), $chars (name)
retrain_finetuned = Fine-tuned from version { $version }; its vocabulary grew by { $added ->
    [one] one character
   *[other] { $added } characters
} ({ $chars }).
retrain_fresh = Trained from scratch.
# $model (value), $active (value), $order (value), $ngram (value)
retrain_quality = On the new text's validation tail, in bits per character (read as one stream, lower is better): new model { $model }, active model { $active }, Kneser-Ney { $order }-gram baseline { $ngram }.
# $gap (value)
retrain_not_below_ngram = The new model is NOT better than the n-gram baseline (by { $gap } bits/char): the text is probably too short or too repetitive for the network to learn more than character counts.
# $margin (value), $finetune (value), $fresh (value), $base (value), $version (id)
retrain_contest_finetune = Fine-tuning won by { $margin } bits/char on the held-out part of the new text (bits per character, lower is better): fine-tuned { $finetune }, trained from scratch { $fresh }, version { $version } as it is { $base }.
# $margin (value), $finetune (value), $fresh (value), $base (value), $version (id)
retrain_contest_fresh = Training from scratch won by { $margin } bits/char on the held-out part of the new text (bits per character, lower is better): trained from scratch { $fresh }, fine-tuned { $finetune }, version { $version } as it is { $base }.
# $margin (value), $finetune (value), $fresh (value), $base (value), $version (id)
retrain_contest_base = Neither fine-tuning ({ $finetune }) nor training from scratch ({ $fresh }) beat version { $version } as it is ({ $base } bits/char, better by { $margin }) on the held-out part of the new text, so version { $version } stays active.
# $temperature (value), $judge (text), $words (number), $nonwords (value), $repeated (value), $real (value), $order (value), $ngram_nonwords (value), $ngram_repeated (value)
retrain_realism = What it writes at the default settings (temperature { $temperature }), judged { $judge }: { $nonwords } of { $words ->
    [one] the one word
   *[other] { $words } words
} are not words, and { $repeated } of its word 3-grams repeat within a sample (real text: { $real }). The Kneser-Ney { $order }-gram baseline sampled the same way: { $ngram_nonwords } not words, { $ngram_repeated } repeated.
retrain_realism_dictionary = by a spelling dictionary
retrain_realism_seen = by the words of the training text (no spelling dictionary fits this text)
retrain_methods_usage = Add finetune to start from the active model's weights (new characters are added to its vocabulary), or fresh to train from scratch: /retrain finetune, /retrain append fresh.
# $state (text)
run_state = { $state ->
    [queued] queued
    [running] running
    [finishing] finishing
    [succeeded] succeeded
    [failed] failed
    [cancelled] cancelled
   *[other] { $state }
}
# $script (name)
seed_unknown_script = I don't know any of the characters in that seed: I was trained on text written in the { $script } script. Try text written in it.
# unexpected errors told to the admins (one line; the traceback is in the log)
# $error (name)
alert_error = ⚠️ Unexpected error: { $error }
# $count (number), $minutes (number), $error (name)
alert_repeated = ⚠️ The same error again, { $count ->
    [one] once more
   *[other] { $count } more times
} in the last { $minutes ->
    [one] minute
   *[other] { $minutes } minutes
}: { $error }
export_upload_refused = Telegram refused the file as too large to upload. Narrow the export with /export user <id> or /export model <version>.
# $size (number), $limit (number)
text_too_big = the text is { $size } bytes; the limit is { $limit } bytes. Send a shorter text.
text_empty = the text is empty.
# $encoding (name)
text_wide_encoding = this looks like { $encoding } text: save it as UTF-8 and send it again.
# $code (name), $position (number)
text_control = the text contains the control character { $code } (at character { $position }); it looks like a binary or wrongly encoded file, not plain UTF-8 text.
# $share (value)
text_not_prose = only { $share } of the text is letters, spaces and punctuation; send prose to train on, not data or code.
# model versions' retention: /pin, /unpin, and what /models says is kept
cmd_pin = Admin: keep a model version whatever the retention
cmd_unpin = Admin: let the retention prune a model version again
# $keep (number)
models_retention = Kept: the active version, the newest { $keep ->
    [one] one
   *[other] { $keep }
} and the pinned ones (📌). The others are pruned (🗑): their file is deleted, their texts keep the version number.
models_pinned = { " " }📌 pinned
models_pruned = { " " }🗑 pruned
models_pin_hint = Keep one with /pin <id>; /unpin <id> lets it go.
pin_usage = Usage: /pin <version id>, e.g. /pin 2 (see /models).
unpin_usage = Usage: /unpin <version id>, e.g. /unpin 2 (see /models).
# $version (id)
pin_done = Version { $version } is pinned: it is kept whatever the retention.
# $version (id)
unpin_done = Version { $version } is no longer pinned: it is pruned once it is neither active nor among the newest.
# $version (id)
version_pruned = Version { $version } was pruned: its file was deleted to save space, so it cannot be used or pinned any more. Its texts keep their version number.
download_no_path = Telegram gave no way to download the file
# $status (id)
download_http = Telegram's file server answered with status { $status }
download_network = the connection to Telegram's file server failed
download_too_large = the file is over the size limit
# causes said in the reader's language (bot/texts/worded.py): an error without a key
# is said in English as raised, and in other languages as one of these by its kind
cause_text_unusable = the text cannot be used.
cause_checkpoint_unusable = the model's file is missing or damaged.
cause_seed_unusable = this text cannot be continued
cause_sampling = a sampling setting is out of range
cause_database = the database could not be read or written
cause_system = the server could not read or write a file
cause_unexpected = an unexpected error
# $position (number)
text_not_utf8 = the text is not valid UTF-8 (a wrong byte at position { $position }): save it as UTF-8 and send it again.
# $length (number), $need (number), $window (number)
text_too_short = the text is too short to train on: { $length ->
    [one] one character
   *[other] { $length } characters
} after normalisation, at least { $need } are needed for one training window of { $window } characters and a part held out for validation.
# $signal (id)
run_killed = the training process was killed by signal { $signal }
# $status (id)
run_exited = the training process exited with status { $status }
run_unfinished = the training did not finish
run_cancelled = on request
run_queue_unreachable = the job queue could not be reached
run_bot_stopped = the bot was stopped
run_bot_stopped_during = the bot stopped during training
run_trainer_gone = its trainer was gone
run_trainer_silent = its trainer stopped sending signs of life
run_trainer_stopped = its trainer was stopped
# $version (id), $cause (text), $serving (id), $path (name)
startup_version_fallback = Model version { $version } could not be loaded at start-up: { $cause } Version { $serving } is serving instead; restore { $path } and /use { $version } to go back.
# $version (id), $cause (text), $serving (id)
startup_default_fallback = Model version { $version } could not be loaded at start-up: { $cause } No other version loads either: the default model (version { $serving }) is serving instead.
checkpoint_missing = its file is missing.
checkpoint_changed = its file is not the one registered (its SHA-256 differs: replaced or damaged).
# $train (text), $validation (text)
rt_curve_legend = { $train }: training loss; { $validation }: validation loss (cross-entropy in nats per character, by step).
# $train (text)
rt_curve_legend_train = { $train }: training loss (cross-entropy in nats per character, by step).
rt_curve_blue = blue
rt_curve_orange = orange
cause_telegram = Telegram refused the request
discard_active = the active version cannot be discarded.
# $reason (text)
store_database = the database could not keep it: { $reason }.
# $folder (name), $reason (text)
store_folder = the corpus folder { $folder } could not be written: { $reason }.
# $rows (number), $size (number), $limit (number)
export_rows_too_large = { $rows ->
    [one] one row is
   *[other] { $rows } rows are
} { $size } bytes even compressed; the limit is { $limit }
