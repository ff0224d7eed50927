X1234example
u a BC-Harbour-Fire 2ndLd-Writethru   03-08 0123
^BC-Harbour-Fire, 2nd Ld-Writethru,123<
^Harbour fire under control<
^Eds: Updates with police statement.<
^By JOHN DOE=
^Example Press=
	   PORTSMOUTH, England (EXP) _ Firefighters brought a harbour fire under control on Friday.<
	   Police said nobody was hurt. Café owners reopened.<

	   EXP-WF-03-08-24 1015GMT<


