"""Reading the question once, before any model call: its language and words (`lang`), its dates
(`dates`), the values it names linked to their stored forms (`link`), the requests refused before any SQL
(`refusals`), and what its words ask for (`asked.Asked`)."""
