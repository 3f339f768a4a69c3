"""The app as a WSGI server runs it: ``gunicorn webapp.wsgi:app``, logging JSON lines (webapp.logs).

Loading the app leaves a large heap of long-lived objects (SciPy, pandas, folium). Python's
full garbage collections walked all of it every few requests, about 110 ms each, which was the
hex API's 95th percentile; frozen, they are left out of every collection.
"""

import gc

from webapp import create_app, logs

logs.configure()
app = create_app()
gc.freeze()
