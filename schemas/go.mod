module github.com/consentflow/consentflow/schemas

go 1.26
