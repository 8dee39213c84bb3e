"""What the bot says in English: the reference catalogue, complete for every key."""

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
    # --- the writing experience: buttons, /length, inline mode
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
    # --- admin-facing strings (retraining, /models, /generations, /stats)
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
    "corpus_default": "original Arabic prose",
    # start-up problems the admins are told about once the bot is up.
    "startup_notice": "Start-up notice: {notice}",
    "cmd_retrain": "Admin: retrain on new text",
    "cmd_models": "Admin: list model versions",
    "cmd_use": "Admin: activate a model version",
    "cmd_generations": "Admin: review generations",
    "cmd_export": "Admin: export generations as CSV",
    "cmd_stats": "Admin: usage and model statistics",
    # --- delivery, groups and unknown input
    "history_undelivered": "(not delivered: Telegram did not confirm this reply)",
    # --- fair use: per-user limits and access control
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
    # --- replicas in /models
    "models_replicas": "Replicas serving now (heartbeat within {window} s):",
    "models_replica": "{host} pid {pid}: version {version}, seen {seconds} s ago",
    "unknown_command": "I don't know that command. Send /help to see what I can do.",
    "plain_text_hint": (
        "To have me continue a text, send /write followed by it. /help lists every command."
    ),
    "forget_expired": "This confirmation has expired. Send /forget again.",
    # --- how a /retrain trained, and how good the result is
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
}
