#!/usr/bin/env bash
# One-off, for code written against the names before 1.0: applies the renames
# of the public face (factories are `createX`; American spelling) to the files
# given, or to src, test, examples, bench, scripts, docs and README.md.
# The old names are not kept. Safe to run twice.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(src test examples bench/*.ts scripts docs README.md)
grep -rlIZ --exclude=renames.sh -E 'memoryStore|openaiProvider|anthropicProvider|redisStore|aiSdkTools|agentsTools|langchainTools|breakwaterMiddleware|[Hh]onour|[Nn]ormalis|[Ss]erialis|[Rr]ecognis|[Bb]ehaviour|[Ff]avour|[Cc]olour|COLOUR|[Ss]ummaris|[Aa]nalyse' "${targets[@]}" |
  xargs -0 -r perl -pi -e '
    s/\bmemoryStore\b/createMemoryStore/g;
    s/\bopenaiProvider\b/createOpenAIProvider/g;
    s/\banthropicProvider\b/createAnthropicProvider/g;
    s/\bredisStore\b/createRedisStore/g;
    s/\baiSdkTools\b/createAiSdkTools/g;
    s/\bagentsTools\b/createAgentsTools/g;
    s/\blangchainTools\b/createLangchainTools/g;
    s/\bbreakwaterMiddleware\b/createBreakwaterMiddleware/g;
    s/honour/honor/g; s/Honour/Honor/g;
    s/normalis/normaliz/g; s/Normalis/Normaliz/g;
    s/serialis/serializ/g; s/Serialis/Serializ/g;
    s/recognis/recogniz/g; s/Recognis/Recogniz/g;
    s/behaviour/behavior/g; s/Behaviour/Behavior/g;
    s/favour/favor/g; s/Favour/Favor/g;
    s/colour/color/g; s/Colour/Color/g; s/COLOUR/COLOR/g;
    s/summaris/summariz/g; s/Summaris/Summariz/g;
    s/analyse/analyze/g; s/Analyse/Analyze/g;
  '
