"""What the post-training labs (sft, dpo, grpo) share: the task, the chat template, the base model, the SFT checkpoint.

The public names, by module (dpo and grpo code to these; the sft lab owns them):

task.py (torch-free) -- a problem with one checkable answer, and its verifier

    spec = TaskSpec(digits=2, n_test=200, seed=0)        # stored in every checkpoint, so all labs share one split
    split = spec.split()                                  # Split(train=[Problem...], test=[Problem...]), disjoint by problem
    problem.question, problem.answer                      # "47+85", "132"; "07-05", "002" (zero-padded; never negative)
    score = verify(problem, "132")                        # Score(correct=1.0, formatted=1.0)
    score = checked_score(verifier, problem, completion)  # a verifier that raises -> PathwayError naming the prompt

chat.py -- the chat template with special tokens on top of the lab's BPE tokenizer

    chat = Chat(tokenizer)                                # adds <|system|> <|user|> <|assistant|> <|end|> if missing
    ids, mask = chat.render(problem.question, problem.answer)   # mask[i] is True on assistant tokens (the loss)
    prompt = chat.prompt(problem.question)                # ids up to and including <|assistant|>: what generation starts from
    text = chat.completion_text(new_ids)                  # the new tokens, cut at <|end|>, decoded
    chat.end_id, chat.pad_id, chat.vocab_size

base.py -- the model every post-training lab starts from

    base = load_base(cache_dir, device, spec, log, source="task", pretrain_steps=1500, dim=64, n_layers=2, vocab_size=257,
                     seed=0, should_stop=...)                     # source "task" | "llama" | "auto"; pretraining kept in the cache
    base.model, base.args, base.chat, base.where          # args.vocab_size == chat.vocab_size (new rows for the specials)
    base.trained_vocab                                    # rows the base was trained with; ids from here on are chat tokens
    check_compatible(args, chat, saved_args_dict, saved_tokenizer_json, where)   # another shape/tokenizer: refused by name

checkpoint.py -- what sft publishes and dpo/grpo load

    publish_policy(policy, cache_dir, run_id)             # cache/sft/latest.pt, atomic
    policy = load_policy(cache_dir, device)               # Policy or None when no sft run has published
    policy = policy_or_sft(cache_dir, device, log, overrides={...}, should_stop=...)   # the published one, else an SFT run now
    policy.model, policy.args, policy.chat, policy.task (TaskSpec), policy.run_id, policy.metrics (dict), policy.where

sampling.py -- completions from a policy, through kv_cache/generate.py

    completions = sample(model, chat, problems, sampling=Sampling(temperature=1.0), generator=g)   # repeat a problem for G samples
    completions[i].problem, .ids, .text                   # new token ids (through the first <|end|>) and the decoded reply
    result = evaluate(model, chat, problems, verifier=verify)   # greedy: result.exact, result.formatted, result.rows [(Completion, Score)]
    result.table(n=12, title="...")                       # text for report.write_sample

The SFT run itself, for a bench line or for dpo/grpo when nothing is published:
`pathway.labs.programs.sft.train.run_sft(overrides: dict, cache_dir, device, log, should_stop=...) -> (Policy, final metrics)`
(publishes when nothing was published yet or it meets the 60% goal; checkpoint and sample under cache_dir/sft/run). Batches and the masked loss for SFT-style
log-probabilities: `sft.train.padded_batch(chat, problems) -> (inputs, targets, weights)`, `assistant_loss`.
"""
