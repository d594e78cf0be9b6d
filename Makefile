# kube_proxy.mode: one entry point for a fresh machine.
#   make lab    install everything, build the VM image, boot the 3-VM lab and run the main job on it
#   make test   install everything and run every test (what .ci/run calls)
SHELL := /bin/bash
VENV ?= .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/tests/ansible.cfg

.PHONY: setup host-deps venv collection lab lab-down test lint sanity units netns molecule image clean

setup: host-deps venv collection

host-deps:
	bash tests/lab/host-deps.sh

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

# Makes the checkout resolvable as the collection kube_proxy.mode (FQCN playbooks, roles, plugins).
collection:
	bash tests/collection-path.sh

image: setup
	bash tests/lab/build-image.sh

lab: setup image
	bash tests/lab/demo.sh

lab-down:
	LAB_ID=$${LAB_ID:-demo} bash tests/lab/lab.sh down

test: setup
	bash tests/run-all.sh

lint: setup
	bash tests/run-all.sh lint yamllint ruff

sanity: setup
	bash tests/run-all.sh sanity

units: setup
	bash tests/run-all.sh units

netns: setup
	bash tests/run-all.sh netns

molecule: setup
	bash tests/run-all.sh molecule

clean:
	rm -rf .cache tests/output
