# make compose-test: the README's docker-compose guide run for real (Docker Engine from
# Debian, stand-in images where nothing can be pulled); see deploy/compose/test/README.md.
.PHONY: compose-test compose-standins

compose-test: ## the README's docker-compose guide, run as written, plus a sink restart that must lose nothing
	bash deploy/compose/test/compose-test.sh

compose-standins: ## build (or list) the stand-in images compose-test uses where images cannot be pulled
	bash deploy/compose/test/docker-env.sh up
	bash deploy/compose/standins/build.sh build
