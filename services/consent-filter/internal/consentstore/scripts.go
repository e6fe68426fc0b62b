package consentstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// applyScript applies one bucket's share of a batch and advances that
// bucket's positions, atomically (all keys share the bucket's hash tag).
// Every check and every read happens before the first write, so a failing
// script writes nothing; positions are written last.
//
// KEYS[1] bucket meta; KEYS[2..] record keys.
// ARGV[1] gen; ARGV[2] invalidation channel prefix; ARGV[3] n partitions;
// then n × (partition, expected-from, next); then per record key 9 values
// (op, purpose, subject code, status, at_ms, partition, offset, extra,
// imported): op "c" is a consent change (extra: the tenant given with it),
// op "l" adds a link (extra: the linked subject's code).
const applySrc = `
local meta = KEYS[1]
local cur = redis.call('HGET', meta, 'gen')
if cur ~= ARGV[1] then
  return redis.error_reply('CFGEN bucket ' .. meta .. ' generation ' .. tostring(cur) .. ', writer ' .. ARGV[1])
end
local np = tonumber(ARGV[3])
local i = 4
for _ = 1, np do
  local have = tonumber(redis.call('HGET', meta, 'p:' .. ARGV[i]) or '0')
  if have < tonumber(ARGV[i + 1]) then
    return redis.error_reply('CFGAP bucket ' .. meta .. ' partition ' .. ARGV[i] .. ' at ' .. ARGV[i + 1] .. ' expected, has ' .. tostring(have))
  end
  i = i + 3
end
-- Read every record key once before writing anything: a wrong-type key
-- fails the script here, with nothing written.
for k = 2, #KEYS do
  redis.call('HMGET', KEYS[k], 'p')
end
local function wins(cur, p, o, at, imported)
  if not cur[1] then return true end
  if imported == '1' then return tonumber(at) > tonumber(cur[3]) end
  if cur[1] == p then return tonumber(o) > tonumber(cur[2]) end
  if tonumber(at) ~= tonumber(cur[3]) then return tonumber(at) > tonumber(cur[3]) end
  return tonumber(p) > tonumber(cur[1])
end
local changed = 0
for k = 2, #KEYS do
  local op, purpose, code, st, at, p, o, extra, imported =
    ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7], ARGV[i + 8]
  if op == 'l' then
    local ln = redis.call('HGET', KEYS[k], 'ln')
    local found = false
    if ln then
      for c in string.gmatch(ln, '[^\n]+') do
        if c == extra then found = true break end
      end
    end
    if not found then
      if ln and ln ~= '' then ln = ln .. '\n' .. extra else ln = extra end
      redis.call('HSET', KEYS[k], 'ln', ln)
      redis.call('PUBLISH', ARGV[2] .. purpose, code)
      changed = changed + 1
    end
  else
    -- read per change: the same key may occur twice in one batch
    local cur = redis.call('HMGET', KEYS[k], 'p', 'o', 'at')
    if wins(cur, p, o, at, imported) then
      redis.call('HSET', KEYS[k], 's', st, 'at', at, 'p', p, 'o', o, 'tn', extra)
      redis.call('PUBLISH', ARGV[2] .. purpose, code)
      changed = changed + 1
    end
  end
  i = i + 9
end
i = 4
for _ = 1, np do
  local f = 'p:' .. ARGV[i]
  local have = redis.call('HGET', meta, f)
  if (not have) or tonumber(have) < tonumber(ARGV[i + 2]) then
    redis.call('HSET', meta, f, ARGV[i + 2])
  end
  i = i + 3
end
return changed
`

// completeScript marks the generation complete if it is still current.
// KEYS[1] cf:meta; ARGV[1] gen; ARGV[2] completed_ms.
const completeSrc = `
local cur = redis.call('HGET', KEYS[1], 'gen')
if cur ~= ARGV[1] then
  return redis.error_reply('CFGEN meta generation ' .. tostring(cur) .. ', writer ' .. ARGV[1])
end
redis.call('HSET', KEYS[1], 'complete', '1', 'completed_ms', ARGV[2])
return 1
`

type scripts struct {
	apply    *redis.Script
	complete *redis.Script
}

func newScripts() scripts {
	return scripts{apply: redis.NewScript(applySrc), complete: redis.NewScript(completeSrc)}
}

// scriptCall is one script invocation for runScripts.
type scriptCall struct {
	script *redis.Script
	keys   []string
	args   []any
}

// runScripts runs calls in one pipeline with EVALSHA and re-runs those that
// got NOSCRIPT (script cache empty after a restart or failover) with EVAL in
// a second pipeline. It returns the per-call results and errors.
func (s *Store) runScripts(ctx context.Context, calls []scriptCall) ([]*redis.Cmd, error) {
	cmds := make([]*redis.Cmd, len(calls))
	_, _ = s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, c := range calls {
			cmds[i] = c.script.EvalSha(ctx, pipe, c.keys, c.args...)
		}
		return nil
	})
	var retry []int
	for i, cmd := range cmds {
		if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
			retry = append(retry, i)
		}
	}
	if len(retry) > 0 {
		_, _ = s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			for _, i := range retry {
				cmds[i] = calls[i].script.Eval(ctx, pipe, calls[i].keys, calls[i].args...)
			}
			return nil
		})
	}
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil {
			return cmds, classifyScriptError(err)
		}
	}
	return cmds, nil
}

func classifyScriptError(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "CFGEN"):
		return fmt.Errorf("%w: %s", ErrGenerationLost, msg)
	case strings.Contains(msg, "CFGAP"):
		return fmt.Errorf("%w: %s", ErrPositionGap, msg)
	}
	return fmt.Errorf("consent store script: %w", err)
}
